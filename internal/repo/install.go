package repo

import "context"

// InstallabilityChecker decides which binary packages of a suite cannot be
// installed. Packages and Background are Packages-file stanzas (deb822
// text): Packages is the suite being checked, Background what else apt
// would see (the upstream archive of the codename). It returns the names of
// uninstallable packages of Packages with a reason each. internal/plan may
// provide a full solver through this interface; the repository has a
// built-in one.
type InstallabilityChecker interface {
	Uninstallable(ctx context.Context, arch string, packages, background [][]byte) (map[string]string, error)
}
