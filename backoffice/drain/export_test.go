package drain

// SequenceMargin exposes sequenceMargin to the tests.
const SequenceMargin = sequenceMargin
