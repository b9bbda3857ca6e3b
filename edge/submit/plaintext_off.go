//go:build !benchplaintext

package submit

// PlaintextBuild is true only in an edge built with the benchplaintext tag,
// which stores personal values unencrypted so that loadtest/bench.sh can
// measure what SM4 sealing costs. No release or `make build` uses the tag.
const PlaintextBuild = false
