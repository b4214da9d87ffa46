package main

import _ "github.com/canopy-cloud/canopy/providers/aws"
