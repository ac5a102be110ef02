// Package deb822 reads and writes Debian control-file paragraphs: archive
// indexes (Sources, Packages, Release), .dsc and .changes bodies,
// debian/control, and apt's deb822 .sources files.
//
// The format is the one in deb822(5) and Debian Policy §5.1: paragraphs of
// "Name: value" fields separated by blank lines; a line starting with a space
// or tab continues the previous field; lines starting with '#' are comments.
// Input must be free of OpenPGP armor: verify and strip a clear-signature
// first (internal/sign), then parse the plaintext.
//
// The scanner is built for the index hot path (bookworm's 63k-stanza Packages
// file): it makes no copy of field names or values. A parsed paragraph
// records each field as four offsets into the input, carved from shared
// pointer-free slabs, so a paragraph costs no allocation of its own and the
// garbage collector has nothing to scan; Get and Lookup return substrings of
// the input. ScanString and ParseString share memory with their input; Scan
// and ParseAll copy the input once.
//
// A value keeps the file's text: the first line with surrounding blanks
// removed, then each continuation line verbatim (leading space included),
// joined with "\n", without the final newline. Lines splits such a value into
// its continuation lines the way Policy reads them (" ." is an empty line).
//
// Errors are *SyntaxError values carrying the 1-based line number.
package deb822
