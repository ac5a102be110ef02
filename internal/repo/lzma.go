package repo

import (
	"errors"
	"io"
)

// lazyLZMA2 decodes an LZMA2 chunk sequence held in memory only as far as
// it is read: reading a package's ./control (the first few KiB of
// control.tar) decodes those KiB and stops, where a streaming decoder fills
// its whole buffer first. The decoded bytes are kept (they are the
// dictionary), so the input's decoded size bounds memory; callers read
// small members only. It follows the LZMA specification and reference
// decoder of the LZMA SDK (LzmaSpec.cpp) and the LZMA2 chunk format of
// xz-embedded (xz_dec_lzma2.c).
type lazyLZMA2 struct {
	in  []byte
	pos int // next input byte
	out []byte
	off int // next byte Read returns
	err error
	// dictStart is where the dictionary was last reset: matches reach no
	// further back, and positions count from it.
	dictStart int

	chunkLeft  int // bytes the current chunk still produces
	rawChunk   bool
	needProps  bool
	rc         rangeDecoder
	lc, lp, pb uint
	lz         lzmaState
}

var errLZMA = errors.New("lzma2: corrupt data")

func newLazyLZMA2(in []byte) *lazyLZMA2 {
	return &lazyLZMA2{in: in, needProps: true, out: make([]byte, 0, 16<<10)}
}

// lazyLZMA2Max bounds what a lazyLZMA2 decodes (it keeps all of it): a
// larger stream fails, and callers fall back to a streaming decoder.
const lazyLZMA2Max = 32 << 20

// Read decodes until len(p) bytes (or the rest of the stream) are there.
func (d *lazyLZMA2) Read(p []byte) (int, error) {
	for len(d.out)-d.off < len(p) && d.err == nil {
		d.err = d.step(d.off + len(p))
	}
	n := copy(p, d.out[d.off:])
	d.off += n
	if n == 0 && d.err != nil {
		return 0, d.err
	}
	return n, nil
}

// step decodes at least one symbol (or starts a chunk), going on until
// out holds want bytes or the chunk ends.
func (d *lazyLZMA2) step(want int) error {
	if d.chunkLeft == 0 {
		return d.startChunk()
	}
	if len(d.out)+d.chunkLeft > lazyLZMA2Max {
		return errors.New("lzma2: stream too large to decode in memory")
	}
	if d.rawChunk {
		n := min(d.chunkLeft, len(d.in)-d.pos, max(want-len(d.out), 1))
		if n == 0 {
			return errLZMA
		}
		d.out = append(d.out, d.in[d.pos:d.pos+n]...)
		d.pos += n
		d.chunkLeft -= n
		return nil
	}
	end := len(d.out) + d.chunkLeft
	for len(d.out) < want && len(d.out) < end {
		if err := d.symbol(end); err != nil {
			return err
		}
	}
	d.chunkLeft = end - len(d.out)
	if d.chunkLeft == 0 && (d.rc.code != 0 || d.rc.pos != len(d.rc.in)) {
		return errLZMA // a finished chunk has used its input and left the coder at zero
	}
	return nil
}

// startChunk reads an LZMA2 chunk header (xz-embedded, dec_main).
func (d *lazyLZMA2) startChunk() error {
	if d.pos >= len(d.in) {
		return errLZMA
	}
	c := d.in[d.pos]
	d.pos++
	switch {
	case c == 0x00:
		return io.EOF
	case c == 0x01 || c == 0x02:
		if d.pos+2 > len(d.in) {
			return errLZMA
		}
		d.chunkLeft = int(d.in[d.pos])<<8 | int(d.in[d.pos+1]) + 1
		d.pos += 2
		d.rawChunk = true
		if c == 0x01 {
			d.dictStart = len(d.out)
		}
		return nil
	case c < 0x80:
		return errLZMA
	}
	if d.pos+4 > len(d.in) {
		return errLZMA
	}
	d.chunkLeft = int(c&0x1f)<<16 | int(d.in[d.pos])<<8 | int(d.in[d.pos+1]) + 1
	packed := int(d.in[d.pos+2])<<8 | int(d.in[d.pos+3]) + 1
	d.pos += 4
	d.rawChunk = false
	if c >= 0xc0 {
		if d.pos >= len(d.in) {
			return errLZMA
		}
		props := uint(d.in[d.pos])
		d.pos++
		if props >= 9*5*5 {
			return errLZMA
		}
		d.lc, d.lp, d.pb = props%9, props/9%5, props/45
		if d.lc+d.lp > 4 {
			return errLZMA
		}
		d.needProps = false
	} else if d.needProps {
		return errLZMA
	}
	if c >= 0xe0 {
		d.dictStart = len(d.out)
	}
	if c >= 0xa0 {
		d.lz.reset(d.lc, d.lp)
	}
	if d.pos+packed > len(d.in) {
		return errLZMA
	}
	if !d.rc.init(d.in[d.pos : d.pos+packed]) {
		return errLZMA
	}
	d.pos += packed
	return nil
}

// rangeDecoder is LZMA's binary range decoder over one chunk's bytes.
type rangeDecoder struct {
	in    []byte
	pos   int
	rng   uint32
	code  uint32
	extra bool // read past the chunk
}

func (rc *rangeDecoder) init(in []byte) bool {
	if len(in) < 5 || in[0] != 0 {
		return false
	}
	rc.in, rc.pos, rc.rng, rc.extra = in, 5, 0xffffffff, false
	rc.code = uint32(in[1])<<24 | uint32(in[2])<<16 | uint32(in[3])<<8 | uint32(in[4])
	return true
}

func (rc *rangeDecoder) normalize() {
	if rc.rng < 1<<24 {
		rc.rng <<= 8
		var b byte
		if rc.pos < len(rc.in) {
			b = rc.in[rc.pos]
		} else {
			rc.extra = true
		}
		rc.pos++
		rc.code = rc.code<<8 | uint32(b)
	}
}

// bit decodes one bit with the adaptive probability *p (11-bit, moves by
// 1/32).
func (rc *rangeDecoder) bit(p *uint16) uint32 {
	v := uint32(*p)
	bound := (rc.rng >> 11) * v
	var b uint32
	if rc.code < bound {
		rc.rng = bound
		*p = uint16(v + ((1<<11 - v) >> 5))
	} else {
		rc.code -= bound
		rc.rng -= bound
		*p = uint16(v - v>>5)
		b = 1
	}
	rc.normalize()
	return b
}

// direct decodes n bits of probability one half.
func (rc *rangeDecoder) direct(n uint) uint32 {
	var res uint32
	for ; n > 0; n-- {
		rc.rng >>= 1
		rc.code -= rc.rng
		t := 0 - (rc.code >> 31)
		rc.code += rc.rng & t
		rc.normalize()
		res = res<<1 + t + 1
	}
	return res
}

// tree decodes an n-bit symbol, most significant bit first.
func (rc *rangeDecoder) tree(probs []uint16, n uint) uint32 {
	m := uint32(1)
	for i := uint(0); i < n; i++ {
		m = m<<1 + rc.bit(&probs[m])
	}
	return m - 1<<n
}

// reverse decodes an n-bit symbol, least significant bit first.
func (rc *rangeDecoder) reverse(probs []uint16, n uint) uint32 {
	m, sym := uint32(1), uint32(0)
	for i := uint(0); i < n; i++ {
		b := rc.bit(&probs[m])
		m = m<<1 + b
		sym |= b << i
	}
	return sym
}
