package repo

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// binaryStanza returns the Packages stanza of b stored at filename: the
// control fields (Package first) plus Filename, Size, MD5sum and SHA256,
// the checksums Debian's own archive (dak) lists; apt uses SHA256.
func binaryStanza(b *binaryItem, filename string) stanza {
	s := make(stanza, 0, len(b.Control)+5)
	s = append(s, field{"Package", b.Package})
	for _, f := range b.Control {
		switch f.Name {
		case "Package", "Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512":
			continue
		}
		s = append(s, f)
	}
	sum := b.File.Sum
	return append(s,
		field{"Filename", filename},
		field{"Size", strconv.FormatInt(sum.Size, 10)},
		field{"MD5sum", sum.MD5},
		field{"SHA256", sum.SHA256},
	)
}

// sourceStanza returns the Sources stanza of s stored in directory dir: the
// .dsc fields with Source renamed to Package (first), plus Directory, and
// the .dsc itself added to Files and Checksums-* (Debian repository format).
func sourceStanza(s *sourceItem, dir string) stanza {
	out := stanza{{"Package", s.Package}}
	dsc := s.DSC.Sum
	for _, f := range s.Control {
		switch f.Name {
		case "Source", "Directory", "Package":
			continue
		case "Files":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.MD5, dsc.Size, s.DSC.Name) + f.Value
		case "Checksums-Sha1":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.SHA1, dsc.Size, s.DSC.Name) + f.Value
		case "Checksums-Sha256":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.SHA256, dsc.Size, s.DSC.Name) + f.Value
		}
		out = append(out, f)
	}
	return append(out, field{"Directory", dir})
}

// xzCheck is the integrity check of every xz block we write (CRC64).
const xzCheck = 0x04

// gzLevel is the gzip level of index chunks: gzip's and zlib's default.
// apt fetches the .xz form whenever a Release lists it, so the .gz form is
// a fallback; level 9 makes it about 3% smaller for three times the CPU
// (1.26 MB of Packages text in 64 KiB chunks: 412 KB in 53 ms against
// 424 KB in 18 ms).
const gzLevel = gzip.DefaultCompression

// gzWriters keeps gzip writers for reuse (Reset): a new writer allocates
// and clears about 1 MiB of state, a third of the cost of compressing a
// 64 KiB chunk. (A valid level cannot fail.)
var gzWriters = newFreeList(8, func() *gzip.Writer {
	zw, _ := gzip.NewWriterLevel(nil, gzLevel)
	return zw
})

func gzCompress(data []byte) ([]byte, error) {
	var g bytes.Buffer
	zw := gzWriters.get()
	zw.Reset(&g)
	defer gzWriters.put(zw)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return g.Bytes(), nil
}

func xzCompress(data []byte) ([]byte, error) {
	var x bytes.Buffer
	// A dictionary no larger than the input saves allocating 8 MiB per chunk.
	xw, err := xz.WriterConfig{CheckSum: xz.CRC64, BlockSize: 1 << 40, DictCap: xzDictSize(len(data), 8<<20)}.NewWriter(&x)
	if err != nil {
		return nil, err
	}
	if _, err := xw.Write(data); err != nil {
		return nil, err
	}
	if err := xw.Close(); err != nil {
		return nil, err
	}
	return x.Bytes(), nil
}

// xzBlockOf compresses text in Go (xzCompress) and returns the stream's
// single block (xzBlock), as chunks store it.
func xzBlockOf(text []byte) ([]byte, error) {
	xzs, err := xzCompress(text)
	if err != nil {
		return nil, err
	}
	xzb, check, err := xzBlock(xzs)
	if err != nil {
		return nil, err
	}
	if check != xzCheck {
		return nil, errors.New("xz: unexpected check type")
	}
	return xzb, nil
}
