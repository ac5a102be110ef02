package repo

import (
	"context"
	"fmt"
	"time"
)

// Rollback is one earlier generation of a distribution that can be
// published again. Index 0 is the generation just before the current one.
type Rollback struct {
	Index      int       `json:"index"`
	Generation int       `json:"generation"`
	Date       time.Time `json:"date"`
	Reason     string    `json:"reason"`
}

// Rollbacks lists the rollbacks of dist that the layout keeps (the suite's
// rollbacks count), newest first.
func (r *Repo) Rollbacks(ctx context.Context, dist string) ([]Rollback, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	return r.rollbacks(t)
}

func (r *Repo) rollbacks(t *target) ([]Rollback, error) {
	cur, _, err := r.current(t.Name)
	if err != nil {
		return nil, err
	}
	gens, err := r.generations(t.Name)
	if err != nil {
		return nil, err
	}
	var out []Rollback
	for i := len(gens) - 1; i >= 0 && len(out) < t.Suite.Rollbacks; i-- {
		if gens[i] >= cur {
			continue
		}
		m, err := r.loadManifest(t.Name, gens[i])
		if err != nil {
			return nil, err
		}
		out = append(out, Rollback{Index: len(out), Generation: gens[i], Date: m.Date, Reason: m.Reason})
	}
	return out, nil
}

// RollbackTo publishes rollback n of dist (0 = the generation before the
// current one) again as a new generation with a new Date, so apt accepts
// it as newer than what it has. The replaced state becomes rollback 0.
func (r *Repo) RollbackTo(ctx context.Context, dist string, n int) (*Result, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	res := &Result{Distribution: dist}
	m, err := r.changeManifest(ctx, t, "", func(x *txn) error {
		rbs, err := r.rollbacks(t)
		if err != nil {
			return err
		}
		if n < 0 || n >= len(rbs) {
			return &NotFoundError{What: "rollback", Name: fmt.Sprint(n), Where: fmt.Sprintf("%s (%d kept)", dist, len(rbs))}
		}
		old, err := r.loadManifest(dist, rbs[n].Generation)
		if err != nil {
			return err
		}
		x.replace = old.Indexes
		x.reason = fmt.Sprintf("rollback %d: generation %d (%s)", n, old.Generation, old.Reason)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Generation, res.Date, res.Reason = m.Generation, m.Date, m.Reason
	return res, nil
}

// Republish publishes the current content of dist again as a new generation
// with a new Date (and Valid-Until), for suites whose Release must be
// re-signed before it expires.
func (r *Repo) Republish(ctx context.Context, dist string) (*Result, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	m, err := r.changeManifest(ctx, t, "republish", func(x *txn) error { return nil })
	if err != nil {
		return nil, err
	}
	return &Result{Distribution: dist, Generation: m.Generation, Date: m.Date, Reason: m.Reason}, nil
}
