package receipts

// SetBeforeWrite sets a function that runs between a read of a page of
// records and the write of their receipts.
func (r *Restorer) SetBeforeWrite(hook func()) { r.beforeWrite = hook }
