package repo

// LZMA's symbol decoder (LzmaSpec.cpp: literals, matches, rep matches),
// writing into lazyLZMA2.out, which is also the dictionary.

const (
	lzmaStates     = 12
	lzmaPosBitsMax = 4
	lzmaEndPosIdx  = 14
	lzmaFullDists  = 1 << 7
	lzmaAlignBits  = 4
	lzmaMatchMin   = 2
	lzmaMatchMax   = 273
)

// lenDecoder decodes match lengths (0-based, before lzmaMatchMin).
type lenDecoder struct {
	choice, choice2 uint16
	low, mid        [1 << lzmaPosBitsMax][1 << 3]uint16
	high            [1 << 8]uint16
}

func (l *lenDecoder) reset() {
	l.choice, l.choice2 = probInit, probInit
	for i := range l.low {
		fill(l.low[i][:])
		fill(l.mid[i][:])
	}
	fill(l.high[:])
}

func (l *lenDecoder) decode(rc *rangeDecoder, posState uint32) uint32 {
	if rc.bit(&l.choice) == 0 {
		return rc.tree(l.low[posState][:], 3)
	}
	if rc.bit(&l.choice2) == 0 {
		return 8 + rc.tree(l.mid[posState][:], 3)
	}
	return 16 + rc.tree(l.high[:], 8)
}

const probInit = 1 << 10 // probability one half

func fill(p []uint16) {
	for i := range p {
		p[i] = probInit
	}
}

// lzmaState is the adaptive model and match history of an LZMA decoder.
type lzmaState struct {
	lit                     []uint16
	isMatch                 [lzmaStates << lzmaPosBitsMax]uint16
	isRep, isRepG0, isRepG1 [lzmaStates]uint16
	isRepG2                 [lzmaStates]uint16
	isRep0Long              [lzmaStates << lzmaPosBitsMax]uint16
	posSlot                 [4][1 << 6]uint16
	posDec                  [1 + lzmaFullDists - lzmaEndPosIdx]uint16
	align                   [1 << lzmaAlignBits]uint16
	lenDec, repLenDec       lenDecoder
	state                   uint32
	rep0, rep1, rep2, rep3  uint32
}

// reset sets every probability to one half and clears the history (an
// LZMA2 state reset).
func (s *lzmaState) reset(lc, lp uint) {
	n := 0x300 << (lc + lp)
	if cap(s.lit) < n {
		s.lit = make([]uint16, n)
	}
	s.lit = s.lit[:n]
	fill(s.lit)
	fill(s.isMatch[:])
	fill(s.isRep[:])
	fill(s.isRepG0[:])
	fill(s.isRepG1[:])
	fill(s.isRepG2[:])
	fill(s.isRep0Long[:])
	for i := range s.posSlot {
		fill(s.posSlot[i][:])
	}
	fill(s.posDec[:])
	fill(s.align[:])
	s.lenDec.reset()
	s.repLenDec.reset()
	s.state, s.rep0, s.rep1, s.rep2, s.rep3 = 0, 0, 0, 0, 0
}

// symbol decodes one literal or match into d.out; the chunk ends at end.
func (d *lazyLZMA2) symbol(end int) error {
	s, rc := &d.lz, &d.rc
	total := uint32(len(d.out) - d.dictStart)
	posState := total & (1<<d.pb - 1)
	if rc.bit(&s.isMatch[s.state<<lzmaPosBitsMax+posState]) == 0 {
		if err := d.literal(); err != nil {
			return err
		}
		switch {
		case s.state < 4:
			s.state = 0
		case s.state < 10:
			s.state -= 3
		default:
			s.state -= 6
		}
		return d.rcCheck()
	}
	var length uint32
	if rc.bit(&s.isRep[s.state]) != 0 {
		var short bool
		var err error
		if length, short, err = d.repMatch(posState); err != nil || short {
			return err
		}
	} else {
		s.rep3, s.rep2, s.rep1 = s.rep2, s.rep1, s.rep0
		length = s.lenDec.decode(rc, posState)
		s.state = map7(s.state, 7, 10)
		s.rep0 = d.distance(length)
		if s.rep0 == 0xffffffff {
			return errLZMA // LZMA2 chunks carry no end marker
		}
	}
	n := int(length) + lzmaMatchMin
	if int(s.rep0) >= len(d.out)-d.dictStart || len(d.out)+n > end {
		return errLZMA
	}
	from := len(d.out) - int(s.rep0) - 1
	if from+n <= len(d.out) {
		d.out = append(d.out, d.out[from:from+n]...)
	} else {
		for i := 0; i < n; i++ { // an overlapping copy repeats the pattern
			d.out = append(d.out, d.out[from+i])
		}
	}
	return d.rcCheck()
}

// repMatch decodes a match at one of the last four distances: a "short
// rep" (one byte at rep0, written here: short is true) or the length of a
// longer one, with rep0 set to its distance.
func (d *lazyLZMA2) repMatch(posState uint32) (length uint32, short bool, err error) {
	s, rc := &d.lz, &d.rc
	if len(d.out) == d.dictStart {
		return 0, false, errLZMA
	}
	if rc.bit(&s.isRepG0[s.state]) == 0 {
		if rc.bit(&s.isRep0Long[s.state<<lzmaPosBitsMax+posState]) == 0 {
			s.state = map7(s.state, 9, 11)
			if int(s.rep0) >= len(d.out)-d.dictStart {
				return 0, true, errLZMA
			}
			d.out = append(d.out, d.out[len(d.out)-int(s.rep0)-1])
			return 0, true, d.rcCheck()
		}
	} else {
		var dist uint32
		if rc.bit(&s.isRepG1[s.state]) == 0 {
			dist = s.rep1
		} else {
			if rc.bit(&s.isRepG2[s.state]) == 0 {
				dist = s.rep2
			} else {
				dist = s.rep3
				s.rep3 = s.rep2
			}
			s.rep2 = s.rep1
		}
		s.rep1 = s.rep0
		s.rep0 = dist
	}
	s.state = map7(s.state, 8, 11)
	return s.repLenDec.decode(rc, posState), false, nil
}

// map7 returns a for a state below 7 (after a literal), else b.
func map7(state, a, b uint32) uint32 {
	if state < 7 {
		return a
	}
	return b
}

func (d *lazyLZMA2) rcCheck() error {
	if d.rc.extra {
		return errLZMA
	}
	return nil
}

// literal decodes one byte, matched against the byte at rep0 after a match.
func (d *lazyLZMA2) literal() error {
	s, rc := &d.lz, &d.rc
	total := uint32(len(d.out) - d.dictStart)
	var prev uint32
	if total > 0 {
		prev = uint32(d.out[len(d.out)-1])
	}
	litState := (total&(1<<d.lp-1))<<d.lc + prev>>(8-d.lc)
	probs := s.lit[0x300*litState : 0x300*litState+0x300]
	sym := uint32(1)
	if s.state >= 7 {
		if s.rep0 >= total {
			return errLZMA
		}
		match := uint32(d.out[len(d.out)-int(s.rep0)-1])
		for sym < 0x100 {
			matchBit := (match >> 7) & 1
			match <<= 1
			b := rc.bit(&probs[(1+matchBit)<<8+sym])
			sym = sym<<1 | b
			if matchBit != b {
				break
			}
		}
	}
	for sym < 0x100 {
		sym = sym<<1 | rc.bit(&probs[sym])
	}
	d.out = append(d.out, byte(sym))
	return nil
}

// distance decodes a match distance (0-based) for a match of length.
func (d *lazyLZMA2) distance(length uint32) uint32 {
	s, rc := &d.lz, &d.rc
	lenState := min(length, 3)
	slot := rc.tree(s.posSlot[lenState][:], 6)
	if slot < 4 {
		return slot
	}
	bits := uint(slot>>1) - 1
	dist := (2 | slot&1) << bits
	if slot < lzmaEndPosIdx {
		return dist + rc.reverse(s.posDec[dist-slot:], bits)
	}
	dist += rc.direct(bits-lzmaAlignBits) << lzmaAlignBits
	return dist + rc.reverse(s.align[:], lzmaAlignBits)
}
