package aws

// SetPageSizes shrinks the lists' pages so tests see several; it returns
// a func restoring them.
func SetPageSizes(instances, images, instanceTypes int32) (restore func()) {
	old := pageSizes
	pageSizes.instances, pageSizes.images, pageSizes.instanceTypes = instances, images, instanceTypes
	return func() { pageSizes = old }
}

// SetCopyLimits makes CopyObject copy objects above single bytes in parts
// of part bytes; it returns a func restoring S3's limits.
func SetCopyLimits(single, part int64) (restore func()) {
	old := copyLimits
	copyLimits.single, copyLimits.part = single, part
	return func() { copyLimits = old }
}
