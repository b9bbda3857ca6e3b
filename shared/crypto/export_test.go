package crypto

import "time"

// ActiveWrappedDataKey returns the wrapped form of the data key that seals
// new values, or nil for a keyring without data keys.
func ActiveWrappedDataKey(k *Keyring) []byte {
	if k.envelope == nil {
		return nil
	}
	return k.envelope.active.Load().wrapped
}

// SetDataKeyRetryDelay sets the wait after a failed data key renewal and
// returns a function that restores it.
func SetDataKeyRetryDelay(delay time.Duration) (restore func()) {
	old := dataKeyRetryDelay
	dataKeyRetryDelay = delay
	return func() { dataKeyRetryDelay = old }
}
