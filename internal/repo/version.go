package repo

import (
	"fmt"
	"regexp"
	"strings"
)

// checkVersionRule enforces the suite's VersionSuffix: a regular expression
// that the end of every version added must match, with %CODENAME% standing
// for the codename and %ID% for the repository id (for example
// `~%CODENAME%\+[0-9]+$` for backports-style stable uploads).
func (r *Repo) checkVersionRule(t *target, name, ver string) error {
	rule := t.Suite.VersionSuffix
	if rule == "" {
		return nil
	}
	rule = strings.NewReplacer("%CODENAME%", regexp.QuoteMeta(t.Dist.Codename), "%ID%", regexp.QuoteMeta(r.cfg.Repository.ID)).Replace(rule)
	if !strings.HasSuffix(rule, "$") {
		rule += "$"
	}
	re, err := regexp.Compile(rule)
	if err != nil {
		return &VersionError{Package: name, Version: ver, Distribution: t.Name, Reason: fmt.Sprintf("bad version-suffix rule %q: %v", t.Suite.VersionSuffix, err)}
	}
	if !re.MatchString(ver) {
		return &VersionError{Package: name, Version: ver, Distribution: t.Name, Reason: fmt.Sprintf("does not end in the suite's version suffix %s", t.Suite.VersionSuffix)}
	}
	return nil
}
