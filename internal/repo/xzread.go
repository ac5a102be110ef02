package repo

import (
	"io"

	"github.com/therootcompany/xz"
)

// xzDictMax is the largest LZMA2 dictionary, in bytes, that a stream read
// by openXZ may ask for: 64 MiB, what xz's largest preset (-9) uses. A
// stream asking for more fails to open instead of allocating it.
const xzDictMax = 64 << 20

// xzReaders keeps decoders for reuse. A decoder keeps its dictionary
// (8 MiB for dpkg-deb's default preset) across Reset, and only the pages
// that decoding writes are ever touched, so reading ./control from the
// head of a control.tar.xz costs only the bytes up to it. Few are kept:
// a stream may ask for up to xzDictMax. (NewReader with a nil reader reads
// nothing and cannot fail.)
var xzReaders = newFreeList(4, func() *xz.Reader {
	z, _ := xz.NewReader(nil, xzDictMax)
	return z
})

// openXZ returns a reader of the xz stream r (the .xz file format 1.0.4,
// decoded by therootcompany/xz, a port of XZ Embedded, which decodes only
// as much as is read and verifies each block's check at its end) and a
// func that hands the decoder back for reuse; the reader must not be used
// after that. Errors: r does not start with an xz stream header, or asks
// for a dictionary over xzDictMax.
func openXZ(r io.Reader) (io.Reader, func(), error) {
	z := xzReaders.get()
	if err := z.Reset(r); err != nil {
		return nil, nil, err
	}
	return z, func() { xzReaders.put(z) }, nil
}
