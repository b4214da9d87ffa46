package router

// WaitDuplicates waits until the duplicates being handled in the
// background (deleted or reported) are done, so a test checks what was
// done rather than sleeping for it.
func (r *Router) WaitDuplicates() { r.dups.wg.Wait() }
