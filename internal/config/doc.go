// Package config owns packyard's configuration file and workspace layout.
//
// The configuration is YAML (go.yaml.in/yaml/v4), decoded with unknown keys
// rejected. Its default location is ~/.config/packyard/config.yaml
// (overridden by --config or PACKYARD_CONFIG); the workspace defaults to
// ~/.local/share/packyard (overridden by --workspace or the file's workspace
// key). Workspace gives the paths of everything packyard keeps there.
package config
