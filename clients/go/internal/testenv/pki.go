package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// PKI is a throwaway certificate authority's files for memorid's own TLS,
// made with the openssl CLI (what an operator would use) rather than
// crypto/x509, so the tests see the certificates a real deployment has.
type PKI struct {
	// CA signs the server's and the client's certificates.
	CA string
	// Server is for 127.0.0.1, localhost and memorid.test (serverAuth).
	ServerCert, ServerKey string
	// Client is signed by CA (clientAuth): memorid with ClientCAFile = CA
	// accepts it.
	ClientCert, ClientKey string
	// Stranger is a client certificate from another CA, which memorid
	// refuses.
	StrangerCert, StrangerKey string
}

// NewPKI writes a CA, a server and a client certificate it signed, and a
// client certificate of another CA into dir.
func NewPKI(dir string) (*PKI, error) {
	ca, caKey, err := makeCA(dir, "memorid-test-ca")
	if err != nil {
		return nil, err
	}
	otherCA, otherKey, err := makeCA(dir, "another-ca")
	if err != nil {
		return nil, err
	}
	p := &PKI{CA: ca}
	if p.ServerCert, p.ServerKey, err = makeLeaf(dir, "server", ca, caKey, "serverAuth"); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = makeLeaf(dir, "client", ca, caKey, "clientAuth"); err != nil {
		return nil, err
	}
	if p.StrangerCert, p.StrangerKey, err = makeLeaf(dir, "stranger", otherCA, otherKey, "clientAuth"); err != nil {
		return nil, err
	}
	return p, nil
}

func openssl(args ...string) error {
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("openssl %v: %w\n%s", args, err, out)
	}
	return nil
}

func makeCA(dir, name string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	err = openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN="+name,
		"-keyout", key, "-out", cert)
	return cert, key, err
}

func makeLeaf(dir, name, ca, caKey, usage string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	csr, ext := filepath.Join(dir, name+".csr"), filepath.Join(dir, name+".ext")
	// memorid.test is a name the client reaches only through
	// WithServerName, since the tests dial 127.0.0.1.
	extensions := "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:memorid.test\nextendedKeyUsage=" + usage + "\n"
	if err = os.WriteFile(ext, []byte(extensions), 0o600); err != nil {
		return "", "", err
	}
	if err = openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN="+name, "-keyout", key, "-out", csr); err != nil {
		return "", "", err
	}
	err = openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
		"-days", "2", "-extfile", ext, "-out", cert)
	return cert, key, err
}
