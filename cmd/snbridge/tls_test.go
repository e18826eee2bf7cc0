package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key as PEM files.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	cert, key := newTestCert(t, &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "snbridge test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}, nil, nil)
	certFile, keyFile = writeCertFiles(t, dir, "cert.pem", "key.pem", cert, key)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// newTestCert makes a P-256 key and a certificate of tmpl for it, valid for an hour around now,
// signed by parent with parentKey (nil: self-signed).
func newTestCert(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// writeCertFiles writes cert, and key unless nil, as PEM files named certName and keyName in dir.
func writeCertFiles(t *testing.T, dir, certName, keyName string, cert *x509.Certificate, key *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	certFile = filepath.Join(dir, certName)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
	if key != nil {
		keyDER, _ := x509.MarshalECPrivateKey(key)
		keyFile = filepath.Join(dir, keyName)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	}
	return certFile, keyFile
}

// The TLS listener from the config file's certificate and key, its address from --mqtt-tls.
func TestTLSListenerFromConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("listeners:\n  mqtt_tls:\n    addr: \":8883\"\n    cert_file: "+certFile+"\n    key_file: "+keyFile+"\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-c", cfg, "--mqtt", "off", "--mqttsn", "off", "--mqtt-tls", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, io.Discard, &logs)
	}()
	addr := waitListening(t, logs.String, "mqtt-tls")
	c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID("tls").
		SetTLSConfig(&tls.Config{RootCAs: pool}).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("TLS connect: %v", tok.Error())
	}
	c.Disconnect(10)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "listener=mqtt addr") {
		t.Fatal("--mqtt off still started the plain listener")
	}

	// A missing key file is an error naming it.
	os.Remove(keyFile)
	err := run(context.Background(), []string{"-c", cfg, "--mqtt", "off", "--mqttsn", "off", "--mqtt-tls", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "key.pem") {
		t.Fatalf("missing key file: %v", err)
	}
}

// SIGHUP's certificate reload: new files replace the certificate; a broken pair keeps the old.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeTestCert(t, dir)
	_, certs, err := tlsConfig(TLSListener{Addr: ":0", CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := certs.get(nil)
	writeTestCert(t, dir) // a new key pair in the same files
	if err := certs.reload(); err != nil {
		t.Fatal(err)
	}
	second, _ := certs.get(nil)
	if string(second.Certificate[0]) == string(first.Certificate[0]) {
		t.Fatal("reload kept the old certificate")
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := certs.reload(); err == nil {
		t.Fatal("a broken key file reloaded without error")
	}
	if kept, _ := certs.get(nil); kept != second {
		t.Fatal("a failed reload replaced the certificate")
	}
}
