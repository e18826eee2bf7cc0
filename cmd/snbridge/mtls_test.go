package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeClientCA writes a CA certificate and a client certificate it signed, with its key.
func writeClientCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca, caKey := newTestCert(t, &x509.Certificate{
		SerialNumber:          big.NewInt(10),
		Subject:               pkix.Name{CommonName: "sensors CA"},
		KeyUsage:              x509.KeyUsageCertSign,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}, nil, nil)
	cert, key := newTestCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(11),
		Subject:      pkix.Name{CommonName: "sensor-1"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey)
	caFile, _ = writeCertFiles(t, dir, "clients-ca.pem", "", ca, nil)
	certFile, keyFile = writeCertFiles(t, dir, "client.pem", "client-key.pem", cert, key)
	return caFile, certFile, keyFile
}

// Mutual TLS from the config file (client_ca_file, require_client_cert), with Debian's
// mosquitto_pub and mosquitto_sub: a client with a certificate of the CA gets through, one
// without is refused in the handshake.
func TestMutualTLSWithMosquittoClients(t *testing.T) {
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make test-deps installs mosquitto-clients): %v", tool, err)
		}
	}
	dir := t.TempDir()
	certFile, keyFile, _ := writeTestCert(t, dir)
	clientCA, clientCert, clientKey := writeClientCA(t, dir)
	cfg := filepath.Join(dir, "snbridge.yaml")
	os.WriteFile(cfg, []byte("listeners:\n  mqtt_tls:\n    cert_file: "+certFile+"\n    key_file: "+keyFile+
		"\n    client_ca_file: "+clientCA+"\n    require_client_cert: true\n"), 0o644)
	tlsAddr := freePort(t)
	d := startDaemon(t, "-c", cfg, "--mqtt", freePort(t), "--mqtt-tls", tlsAddr, "--data-dir", filepath.Join(dir, "data"))
	waitListening(t, d.logs.String, "mqtt-tls")
	host, port, _ := net.SplitHostPort(tlsAddr)
	withCert := []string{"-h", host, "-p", port, "--cafile", certFile, "--cert", clientCert, "--key", clientKey}

	sub := exec.Command("mosquitto_sub", append(withCert, "-t", "tls/#", "-C", "1", "-W", "10", "-v")...)
	var out strings.Builder
	sub.Stdout, sub.Stderr = &out, &out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	// mosquitto_sub's subscription is in once a retained message reaches it; publish retained.
	if b, err := exec.Command("mosquitto_pub", append(withCert, "-t", "tls/x", "-m", "over mTLS", "-r", "-q", "1")...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub with a client certificate: %v\n%s\nlog:\n%s", err, b, d.logs.String())
	}
	if err := sub.Wait(); err != nil || strings.TrimSpace(out.String()) != "tls/x over mTLS" {
		t.Fatalf("mosquitto_sub with a client certificate: %v, %q", err, out.String())
	}
	if b, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", certFile, "-t", "tls/y", "-m", "no cert").CombinedOutput(); err == nil {
		t.Fatalf("mosquitto_pub without a client certificate got through:\n%s", b)
	}
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
