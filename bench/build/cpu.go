package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuMeter counts the CPU time (user+system) of this process and every
// process it starts, through a cgroup of its own: builds run under bwrap,
// whose pid namespaces hide their children from getrusage, and CPU time
// does not swing with the other load on the machine as wall time does.
type cpuMeter struct {
	dir    string // the bench's cgroup
	parent string // where the process was, to move back on close
	v2     bool
}

// newCPUMeter moves the process into a new cgroup below the cgroup v1
// cpuacct hierarchy or, without one, the cgroup v2 hierarchy.
func newCPUMeter() (*cpuMeter, error) {
	root, v2, err := cgroupRoot()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(root, ownCgroup(v2))
	m := &cpuMeter{dir: filepath.Join(parent, fmt.Sprintf("packyard-bench-%d", os.Getpid())), parent: parent, v2: v2}
	if err := os.Mkdir(m.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating bench cgroup: %w", err)
	}
	if err := m.move(m.dir); err != nil {
		_ = os.Remove(m.dir)
		return nil, err
	}
	return m, nil
}

func (m *cpuMeter) move(dir string) error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0o644); err != nil {
		return fmt.Errorf("moving into cgroup %s: %w", dir, err)
	}
	return nil
}

// usage returns the CPU time used so far by the cgroup.
func (m *cpuMeter) usage() (time.Duration, error) {
	if !m.v2 {
		data, err := os.ReadFile(filepath.Join(m.dir, "cpuacct.usage"))
		if err != nil {
			return 0, fmt.Errorf("reading cpu usage: %w", err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		return time.Duration(ns), err
	}
	f, err := os.Open(filepath.Join(m.dir, "cpu.stat"))
	if err != nil {
		return 0, fmt.Errorf("reading cpu usage: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == "usage_usec" {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err
		}
	}
	return 0, errors.New("cpu.stat has no usage_usec")
}

// measure runs fn and returns the CPU time it used (0 without a meter).
func (m *cpuMeter) measure(fn func() error) (time.Duration, error) {
	if m == nil {
		return 0, fn()
	}
	before, uerr := m.usage()
	err := fn()
	after, uerr2 := m.usage()
	if err == nil {
		err = errors.Join(uerr, uerr2)
	}
	return after - before, err
}

// close moves the process back and removes the cgroup.
func (m *cpuMeter) close() {
	if m == nil {
		return
	}
	if m.move(m.parent) == nil {
		_ = os.Remove(m.dir)
	}
}

// cgroupRoot finds a mounted cpuacct (v1) or cgroup2 hierarchy in
// /proc/self/mountinfo (proc(5)).
func cgroupRoot() (root string, v2 bool, err error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false, fmt.Errorf("reading mountinfo: %w", err)
	}
	var unified string
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if o == "cpuacct" {
					return f[4], false, nil
				}
			}
		case "cgroup2":
			unified = f[4]
		}
	}
	if unified == "" {
		return "", false, errors.New("no cpuacct or cgroup2 hierarchy mounted")
	}
	return unified, true, nil
}

// ownCgroup is the process's cgroup path in the cpuacct (v1) or unified
// (v2) hierarchy, from /proc/self/cgroup ("/" when unknown).
func ownCgroup(v2 bool) string {
	data, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if v2 && parts[0] == "0" && parts[1] == "" {
			return parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if !v2 && c == "cpuacct" {
				return parts[2]
			}
		}
	}
	return "/"
}
