package submit

// StorePlaintextForBenchmark makes s skip SM4 sealing, so the benchmark can
// compare the submit path with and without it. It exists only in test
// builds.
func StorePlaintextForBenchmark(s *Service) { s.plaintextForBenchmark = true }
