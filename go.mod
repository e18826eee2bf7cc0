module snbridge

go 1.26

require (
	github.com/spf13/pflag v1.1.0
	go.etcd.io/bbolt v1.5.0
)

require golang.org/x/sys v0.45.0 // indirect
