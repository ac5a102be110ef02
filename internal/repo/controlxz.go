package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// controlDictCaps are the dictionaries, smallest first, of the LZMA2
// decoders that read the head of a control.tar.xz. The stream's header asks
// for dpkg's 8 MiB, which xz.NewReader allocates and fills (decoding
// md5sums and the maintainer scripts) before its first Read returns.
// ./control lies within the first few KiB of control.tar, so
// back-references while decoding it reach no further than that, and the
// LZMA2 reader decodes ahead only as far as its dictionary holds: the
// smallest the library takes (lzma.MinDictCap, 4 KiB) reads 98% of
// bookworm's packages (in the others md5sums refers back to conffiles),
// 64 KiB all of them; xz.NewReader decodes the rest.
var controlDictCaps = [...]int{lzma.MinDictCap, 64 << 10}

// controlFromXZHead reads ./control from the head of a control.tar.xz
// (controlXZHead), with each of controlDictCaps in turn; false if none
// reached it.
func controlFromXZHead(name string, stream []byte) (stanza, bool) {
	for _, dictCap := range controlDictCaps {
		head, err := controlXZHead(stream, dictCap)
		if err != nil {
			return nil, false
		}
		if st, err := controlFromTarReader(name, head); err == nil {
			return st, true
		}
	}
	return nil, false
}

var errXZNotSimple = errors.New("xz: not a single-filter LZMA2 stream")

// controlXZHead returns a reader of the first block of an xz stream (xz
// file format 1.0.4, sections 2.1.1 and 3.1) whose only filter is LZMA2,
// decoded by ulikunitz/xz's LZMA2 reader with a dictionary of dictCap
// bytes. A back-reference further than that, or a second block, makes
// reading fail. The block check is not verified: the package file's own
// SHA256 covers its integrity.
func controlXZHead(stream []byte, dictCap int) (io.Reader, error) {
	if len(stream) < xz.HeaderLen+8 || !xz.ValidHeader(stream[:xz.HeaderLen]) {
		return nil, errXZNotSimple
	}
	block := stream[xz.HeaderLen:]
	size := (int(block[0]) + 1) * 4
	if block[0] == 0 || size > len(block) {
		return nil, errXZNotSimple
	}
	hdr := block[:size-4]
	if crc32.ChecksumIEEE(hdr) != binary.LittleEndian.Uint32(block[size-4:size]) {
		return nil, errXZNotSimple
	}
	if err := lzma2Filter(hdr); err != nil {
		return nil, err
	}
	return lzma.Reader2Config{DictCap: dictCap}.NewReader2(bytes.NewReader(block[size:]))
}

// lzma2Filter checks that a block header (without its CRC32) lists one
// filter, LZMA2 (filter ID 0x21).
func lzma2Filter(hdr []byte) error {
	flags := hdr[1]
	if flags&0x3f != 0 { // more than one filter, or reserved bits
		return errXZNotSimple
	}
	r := bytes.NewReader(hdr[2:])
	for _, present := range []byte{0x40, 0x80} { // compressed, uncompressed size
		if flags&present != 0 {
			if _, err := binary.ReadUvarint(r); err != nil {
				return errXZNotSimple
			}
		}
	}
	if id, err := binary.ReadUvarint(r); err != nil || id != 0x21 {
		return errXZNotSimple
	}
	return nil
}
