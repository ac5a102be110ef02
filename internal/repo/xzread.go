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
// head of a control.tar.xz costs only the bytes up to it. A channel and
// not a sync.Pool: the pool is emptied at every garbage collection, and
// a large add collects often.
var xzReaders = make(chan *xz.Reader, 8)

// openXZ returns a reader of the xz stream r (the .xz file format 1.0.4,
// decoded by therootcompany/xz, a port of XZ Embedded, which decodes only
// as much as is read and verifies each block's check at its end) and a
// func that hands the decoder back for reuse; the reader must not be used
// after that. Errors: r does not start with an xz stream header, or asks
// for a dictionary over xzDictMax.
func openXZ(r io.Reader) (io.Reader, func(), error) {
	var z *xz.Reader
	select {
	case z = <-xzReaders:
	default:
		var err error
		if z, err = xz.NewReader(nil, xzDictMax); err != nil {
			return nil, nil, err
		}
	}
	if err := z.Reset(r); err != nil {
		return nil, nil, err
	}
	release := func() {
		select {
		case xzReaders <- z:
		default:
		}
	}
	return z, release, nil
}
