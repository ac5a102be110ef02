package cli

import (
	"os"

	"github.com/packyard/packyard/internal/archive"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress returns a download progress display when stderr is a terminal
// and --json is off; nil otherwise (log lines only).
func (g *globals) progress() archive.Progress {
	f, ok := g.stderr.(*os.File)
	if !ok || g.json || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &barProgress{p: mpb.New(mpb.WithOutput(f))}
}

type barProgress struct{ p *mpb.Progress }

func (b *barProgress) Start(name string, total int64) (func(int), func()) {
	bar := b.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 40, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")),
	)
	return func(n int) { bar.IncrBy(n) }, func() {
		if total <= 0 {
			bar.SetTotal(-1, true)
		} else {
			bar.SetTotal(total, true)
		}
	}
}
