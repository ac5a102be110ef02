package config

import "path/filepath"

// Workspace gives the layout of a packyard workspace directory.
type Workspace string

// Workspace returns the layout helper for c's workspace.
func (c *Config) WorkspaceDir() Workspace { return Workspace(c.Workspace) }

// Pantry is where cached upstream archive indexes live.
func (w Workspace) Pantry() string { return filepath.Join(string(w), "pantry") }

// Repo is the root of packyard's own repository (pool/ and dists/).
func (w Workspace) Repo() string { return filepath.Join(string(w), "repo") }

// Runs holds one directory per command run.
func (w Workspace) Runs() string { return filepath.Join(string(w), "runs") }

// Envs holds build environments.
func (w Workspace) Envs() string { return filepath.Join(string(w), "envs") }

// Keys holds the repository signing key and its public parts.
func (w Workspace) Keys() string { return filepath.Join(string(w), "keys") }

// Sources holds downloaded, verified source packages.
func (w Workspace) Sources() string { return filepath.Join(string(w), "sources") }

// Cache holds the content-addressed cache of downloaded .deb files.
func (w Workspace) Cache() string { return filepath.Join(string(w), "cache") }

// Tmp is scratch space on the workspace's filesystem (for atomic renames).
func (w Workspace) Tmp() string { return filepath.Join(string(w), "tmp") }

// PublicKey is the armored public key clients use in signed-by.
func (w Workspace) PublicKey() string { return filepath.Join(string(w), "keys", "packyard.asc") }

// PublicKeyring is the binary (gpg keyring) public key for signed-by.
func (w Workspace) PublicKeyring() string { return filepath.Join(string(w), "keys", "packyard.gpg") }
