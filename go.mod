module github.com/canopy-cloud/canopy

go 1.24
