//go:build benchplaintext

package submit

// PlaintextBuild is true, so this edge stores personal values unencrypted. It
// exists only for the sealing-cost run of loadtest/bench.sh, which builds it
// as bin/edge-plaintext.
const PlaintextBuild = true
