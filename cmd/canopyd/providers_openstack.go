package main

import _ "github.com/canopy-cloud/canopy/providers/openstack" // the openstack adapter registers its kind
