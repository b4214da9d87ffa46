package main

import (
	_ "github.com/canopy-cloud/canopy/providers/containerd"
	_ "github.com/canopy-cloud/canopy/providers/docker"
)
