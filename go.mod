module snbridge

go 1.26.0

require github.com/spf13/pflag v1.1.0

require golang.org/x/crypto v0.59.0

require go.uber.org/goleak v1.3.0
