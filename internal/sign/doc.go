// Package sign owns OpenPGP for packyard: generating the repository signing
// key, signing Release files (InRelease clearsigned, Release.gpg detached)
// and verifying signatures made by upstream archives and uploaders.
//
// Keys are OpenPGP v4 (RFC 4880) EdDSA/Ed25519 with SHA-512 signatures, the
// newest form that both bookworm's gpgv 2.2 and sqv accept. The clearsigned
// form follows RFC 4880 section 7; because github.com/ProtonMail/go-crypto's
// clearsign writer omits the armor CRC24 line, which gpgv 2.2 rejects with
// exit status 2, ClearSign re-armors the signature block with a checksum.
package sign
