package openstack

// SetSwiftCopyLimit makes CopyObject copy large objects above n bytes
// segment by segment; it returns a func restoring Swift's limit.
func SetSwiftCopyLimit(n int64) (restore func()) {
	old := swiftCopyLimit
	swiftCopyLimit = n
	return func() { swiftCopyLimit = old }
}
