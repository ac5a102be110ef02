package cli

import (
	"context"
	"errors"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
)

// classify maps domain errors to exit codes and hints. Order matters: the
// most specific cause wins.
func classify(err error) (int, string) {
	var nf *run.NotFoundError
	var hm *archive.HashMismatchError
	var fe *archive.FetchError
	var ce *repo.ChecksumError
	var me *plan.MissingError
	switch {
	case errors.Is(err, context.Canceled):
		return ExitInternal, "interrupted"
	case errors.As(err, &nf):
		return ExitHostTool, "install the missing tool: apt-get install " + orUnknown(nf.Package)
	case errors.Is(err, env.ErrRootlessSetup):
		return ExitHostTool, "without root packyard needs subordinate uid and gid ranges and, for fuse-overlayfs, /dev/fuse: do as the error says, or run packyard as root"
	case errors.Is(err, archive.ErrPantryCorrupt):
		return ExitCorrupt, "run 'packyard refresh --force' while online"
	case errors.Is(err, archive.ErrPantryMissing):
		return ExitMissing, "run 'packyard refresh' while online"
	case errors.As(err, &hm), errors.As(err, &ce), errors.Is(err, sign.ErrBadSignature):
		return ExitCorrupt, "nothing was changed; run 'packyard refresh' and retry, or check the file's origin"
	case errors.Is(err, plan.ErrCycle):
		return ExitCycle, "break the cycle with a build profile named above (--profiles), or build one side from an existing binary"
	case errors.As(err, &me):
		return ExitUnsatisfied, "add an archive that provides the missing packages, or build them first"
	case errors.Is(err, archive.ErrMissing):
		return ExitUnsatisfied, "fetch what is listed while online with the command named above, then retry"
	case errors.Is(err, archive.ErrSourceNotFound), errors.Is(err, plan.ErrSourceNotFound):
		return ExitNotFound, "check the source package name (not a binary package name) or run 'packyard refresh'"
	case errors.Is(err, archive.ErrNotRefreshed):
		return ExitMissing, "run 'packyard refresh' first"
	case errors.As(err, &fe), errors.Is(err, archive.ErrOffline):
		return ExitFetch, "check the network and the mirror in the config, then retry"
	case errors.Is(err, build.ErrNotSourceTree):
		return ExitUsage, "give a .dsc, a source package name, or a directory containing debian/"
	case errors.Is(err, build.ErrLintian):
		return ExitBuild, "lintian found tags at the severity given to --lintian; its report is in the run's logs"
	case errors.Is(err, build.ErrNotReproducible):
		return ExitBuild, "the two builds differ; the report is in the run's reports/ directory"
	case errors.Is(err, env.ErrInUse):
		return ExitUsage, "a build session uses the environment; retry when it ends"
	case errors.Is(err, env.ErrNotFound):
		return ExitUsage, "create it with 'packyard env create'"
	case errors.Is(err, build.ErrBuildFailed):
		return ExitBuild, "read the build log named above; the repository was not changed"
	case errors.Is(err, repo.ErrConflict):
		return ExitRefused, "nothing was changed; rebuild with a new version (e.g. a binNMU) or 'packyard repo remove' the package first"
	case errors.Is(err, repo.ErrVersion):
		return ExitRefused, "the version must go up (and match the suite's version rule); nothing was changed"
	case errors.Is(err, repo.ErrUninstallable):
		return ExitRefused, "migrate the packages it needs first; nothing was changed"
	case errors.Is(err, repo.ErrCheckFailed):
		return ExitCorrupt, "see the problems listed; 'packyard repo check' completes or undoes interrupted changes first"
	case errors.Is(err, repo.ErrNotFound):
		return ExitNotFound, "check the name with 'packyard repo list DIST'"
	case errors.Is(err, repo.ErrUnknownDistribution):
		return ExitUsage, "use a distribution named <codename>-<id>-<suite> from the config"
	case errors.Is(err, repo.ErrBadInput):
		return ExitPublish, "nothing was published"
	case errors.Is(err, repo.ErrPublish):
		return ExitPublish, "the previous generation is still published; check disk space and run the command again"
	}
	return ExitInternal, ""
}

func orUnknown(s string) string {
	if s == "" {
		return "<the package that provides it>"
	}
	return s
}
