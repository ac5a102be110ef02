package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// apt (liblzma without LZMA_CONCATENATED) reads only the first stream of an
// .xz file, so chunked indexes are published as one xz stream holding one
// block per chunk (xz file format 1.0.4, sections 2 and 3). Each chunk keeps
// its block without padding; assembling a file writes the stream header,
// the blocks with padding, a fresh index and the footer.

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// xzBlock extracts the single block of an xz stream made by compressed:
// its bytes without block padding (the "unpadded size" of the index), and
// the stream's check type.
func xzBlock(stream []byte) (block []byte, check byte, err error) {
	blocks, _, check, err := xzBlocks(stream)
	if err != nil {
		return nil, 0, err
	}
	if len(blocks) != 1 {
		return nil, 0, errors.New("xz: want exactly one block")
	}
	return blocks[0], check, nil
}

// xzBlocks splits an xz stream (one stream, no stream padding) into its
// blocks, each without its block padding, with the uncompressed size of
// each as the index records it, and the stream's check type.
func xzBlocks(stream []byte) (blocks [][]byte, sizes []uint64, check byte, err error) {
	if len(stream) < 24 || !bytes.Equal(stream[:6], xzMagic) {
		return nil, nil, 0, errors.New("xz: bad stream header")
	}
	check = stream[7]
	cs := xzCheckSize(check)
	if cs < 0 {
		return nil, nil, 0, errors.New("xz: unsupported check type")
	}
	idx, recs, err := xzIndexAt(bytes.NewReader(stream), int64(len(stream)))
	if err != nil {
		return nil, nil, 0, err
	}
	at := int64(12)
	for _, rec := range recs {
		// In the stream the block padding sits between the compressed
		// data and the check field (xz format 1.0.4, section 3.3): drop
		// it here, and xzAssembler.block puts it back in the same place.
		body := rec.unpadded - int64(cs)
		padded := body + (4-body%4)%4
		if at+padded+int64(cs) > idx {
			return nil, nil, 0, errors.New("xz: block overruns index")
		}
		blocks = append(blocks, append(append([]byte{}, stream[at:at+body]...), stream[at+padded:at+padded+int64(cs)]...))
		sizes = append(sizes, rec.uncompressed)
		at += padded + int64(cs)
	}
	if at != idx {
		return nil, nil, 0, errors.New("xz: blocks and index disagree")
	}
	return blocks, sizes, check, nil
}

// xzIndexRecord is one record of an xz stream's index: a block's unpadded
// size (header, compressed data and check, without padding) and its
// uncompressed size, in bytes.
type xzIndexRecord struct {
	unpadded     int64
	uncompressed uint64
}

// xzIndexAt reads the footer and index of the xz stream that ends at
// offset end of r (xz file format 1.0.4, sections 2.1.2 and 4), and
// returns the index's offset in r and its records. Only the footer and
// the index are read.
func xzIndexAt(r io.ReaderAt, end int64) (idx int64, recs []xzIndexRecord, err error) {
	if end < 32 {
		return 0, nil, errors.New("xz: too short")
	}
	footer := make([]byte, 12)
	if _, err := r.ReadAt(footer, end-12); err != nil {
		return 0, nil, err
	}
	if !bytes.Equal(footer[10:], []byte("YZ")) {
		return 0, nil, errors.New("xz: no stream footer")
	}
	cs := xzCheckSize(footer[9])
	if cs < 0 {
		return 0, nil, errors.New("xz: unsupported check type")
	}
	backward := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
	idx = end - 12 - backward
	if idx < 12 || backward > 1<<24 {
		return 0, nil, errors.New("xz: bad backward size")
	}
	index := make([]byte, backward)
	if _, err := r.ReadAt(index, idx); err != nil {
		return 0, nil, err
	}
	ir := bytes.NewReader(index)
	if b, _ := ir.ReadByte(); b != 0 {
		return 0, nil, errors.New("xz: bad index indicator")
	}
	n, err := binary.ReadUvarint(ir)
	if err != nil || n > uint64(backward) {
		return 0, nil, errors.New("xz: bad index")
	}
	for i := uint64(0); i < n; i++ {
		unpadded, err := binary.ReadUvarint(ir)
		if err != nil || unpadded < uint64(cs) || unpadded > uint64(idx) {
			return 0, nil, errors.New("xz: bad index record")
		}
		size, err := binary.ReadUvarint(ir)
		if err != nil {
			return 0, nil, errors.New("xz: bad index record")
		}
		recs = append(recs, xzIndexRecord{int64(unpadded), size})
	}
	return idx, recs, nil
}

// xzCheckSize is the size of a block's check field for a stream's check
// type (xz format 1.0.4, section 2.1.1.2), or -1 for an unknown type.
func xzCheckSize(check byte) int {
	switch check {
	case 0x00:
		return 0
	case 0x01:
		return 4
	case 0x04:
		return 8
	case 0x0a:
		return 32
	}
	return -1
}

// xzAssembler writes one xz stream from blocks, in order.
type xzAssembler struct {
	w       io.Writer
	check   byte
	records [][2]uint64 // unpadded, uncompressed
}

func newXZAssembler(w io.Writer, check byte) (*xzAssembler, error) {
	hdr := append(append([]byte{}, xzMagic...), 0x00, check)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.ChecksumIEEE(hdr[6:8]))
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &xzAssembler{w: w, check: check}, nil
}

// resume makes a an assembler continuing a stream whose header and first
// blocks (described by chunks) were already written.
func resumeXZAssembler(w io.Writer, check byte, chunks []chunkRef) *xzAssembler {
	a := &xzAssembler{w: w, check: check}
	for _, c := range chunks {
		a.records = append(a.records, [2]uint64{uint64(c.XZ), uint64(c.Size)})
	}
	return a
}

// block appends one unpadded block (header, compressed data, check)
// holding uncompressed bytes of text, with the block padding before the check.
func (a *xzAssembler) block(b []byte, uncompressed int64) error {
	cs := xzCheckSize(a.check)
	if cs < 0 || len(b) < cs {
		return errors.New("xz: bad block")
	}
	body := len(b) - cs
	if _, err := a.w.Write(b[:body]); err != nil {
		return err
	}
	if pad := (4 - body%4) % 4; pad > 0 {
		if _, err := a.w.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	if _, err := a.w.Write(b[body:]); err != nil {
		return err
	}
	a.records = append(a.records, [2]uint64{uint64(len(b)), uint64(uncompressed)})
	return nil
}

// close writes the index and the stream footer.
func (a *xzAssembler) close() error {
	idx := []byte{0}
	idx = binary.AppendUvarint(idx, uint64(len(a.records)))
	for _, r := range a.records {
		idx = binary.AppendUvarint(idx, r[0])
		idx = binary.AppendUvarint(idx, r[1])
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	footer := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)/4-1))
	footer = append(footer, 0x00, a.check)
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(footer))
	out = append(out, footer...)
	out = append(out, 'Y', 'Z')
	if _, err := a.w.Write(append(idx, out...)); err != nil {
		return err
	}
	return nil
}
