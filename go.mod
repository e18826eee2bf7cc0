module snbridge

go 1.26

require github.com/spf13/pflag v1.1.0

require go.uber.org/goleak v1.3.0
