package aws

// SetPageSizes shrinks the lists' pages so tests see several; it returns
// a func restoring them.
func SetPageSizes(instances, images, instanceTypes int32) (restore func()) {
	old := pageSizes
	pageSizes.instances, pageSizes.images, pageSizes.instanceTypes = instances, images, instanceTypes
	return func() { pageSizes = old }
}
