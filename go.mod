module github.com/packyard/packyard

go 1.26.8

require (
	github.com/ProtonMail/go-crypto v1.5.2
	github.com/google/renameio/v2 v2.0.2
	go.yaml.in/yaml/v4 v4.0.0
)

require (
	github.com/cloudflare/circl v1.6.3 // indirect
	github.com/gofrs/flock v0.13.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
	golang.org/x/crypto v0.41.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	pault.ag/go/debian v0.21.0 // indirect
)
