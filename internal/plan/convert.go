package plan

import "github.com/packyard/packyard/internal/parallel"

// BinaryPackages converts Packages paragraphs (for example a pantry index's
// deb822 paragraphs) to binary packages on all CPUs, keeping their order.
// It fails on the first paragraph NewBinaryPackage rejects.
func BinaryPackages[F Fields](paragraphs []F) ([]*BinaryPackage, error) {
	return convertAll(paragraphs, NewBinaryPackage)
}

// SourcePackages converts Sources paragraphs to source packages on all
// CPUs, keeping their order. It fails on the first paragraph
// NewSourcePackage rejects.
func SourcePackages[F Fields](paragraphs []F) ([]*SourcePackage, error) {
	return convertAll(paragraphs, NewSourcePackage)
}

func convertAll[F Fields, T any](in []F, conv func(Fields) (T, error)) ([]T, error) {
	out := make([]T, len(in))
	err := parallel.For(len(in), 1024, func(i int) error {
		v, err := conv(in[i])
		out[i] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
