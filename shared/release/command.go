package release

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// ErrUsage marks an error in the command line of Run.
var ErrUsage = errors.New("usage")

// CommandUsage is the help text of Run.
const CommandUsage = `releasesign signs release files with SM2 and checks their signatures.

  releasesign sign -key KEY.pem -key-id ID [-user-id UID] FILE...
      write FILE.sig beside each FILE
  releasesign verify -public-key KEY.pub.pem [-key-id ID] FILE...
      check each FILE against FILE.sig
  releasesign generate-key -key KEY.pem -public-key KEY.pub.pem
      write a new SM2 key pair; neither file may exist
  releasesign public-key -key KEY.pem -out KEY.pub.pem
      write the public key of a private key
`

// Run runs the releasesign command with args (without the program name),
// writing what it did to stdout. Errors in the command line wrap ErrUsage;
// flag.ErrHelp is returned after printing help for -h.
func Run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, CommandUsage)
		return fmt.Errorf("%w: name a command: sign, verify, generate-key or public-key", ErrUsage)
	}
	command, args := args[0], args[1:]
	switch command {
	case "sign":
		return runSign(args, stdout, stderr)
	case "verify":
		return runVerify(args, stdout, stderr)
	case "generate-key":
		return runGenerateKey(args, stdout, stderr)
	case "public-key":
		return runPublicKey(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, CommandUsage)
		return nil
	}
	fmt.Fprint(stderr, CommandUsage)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, command)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	flags := flag.NewFlagSet("releasesign "+name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	return flags
}

func parseFlags(flags *flag.FlagSet, args []string) error {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return nil
}

func runSign(args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("sign", stderr)
	keyPath := flags.String("key", "", "SM2 private key, PEM (PKCS#8 or RFC 5915)")
	keyID := flags.String("key-id", "", "ID of the key, written into each signature so verifiers can pick the public key")
	userID := flags.String("user-id", crypto.DefaultUserID, "SM2 signer identity")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	switch {
	case *keyPath == "":
		return fmt.Errorf("%w: sign needs -key, the SM2 private key file", ErrUsage)
	case *keyID == "":
		return fmt.Errorf("%w: sign needs -key-id, the name of the key", ErrUsage)
	case flags.NArg() == 0:
		return fmt.Errorf("%w: sign needs the files to sign", ErrUsage)
	}
	signer, err := crypto.LoadSigner(*keyID, *keyPath)
	if err != nil {
		return err
	}
	for _, path := range flags.Args() {
		signaturePath, err := SignFile(signer, path, *userID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %s -> %s (key %s)\n", path, filepath.Base(signaturePath), *keyID)
	}
	return nil
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("verify", stderr)
	publicKeyPath := flags.String("public-key", "", "SM2 public key, PEM")
	keyID := flags.String("key-id", "", "require the signatures to name this key ID (default: accept the ID they name)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	switch {
	case *publicKeyPath == "":
		return fmt.Errorf("%w: verify needs -public-key, the SM2 public key file", ErrUsage)
	case flags.NArg() == 0:
		return fmt.Errorf("%w: verify needs the files to check", ErrUsage)
	}
	key, err := crypto.LoadSM2PublicKeyFile(*publicKeyPath)
	if err != nil {
		return err
	}
	failed := 0
	for _, path := range flags.Args() {
		detached, err := VerifyFile(key, path)
		if err == nil && *keyID != "" && detached.KeyID != *keyID {
			err = fmt.Errorf("%w: the signature names key %q, not %q", crypto.ErrUnknownKey, detached.KeyID, *keyID)
		}
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAILED %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(stdout, "ok     %s (key %s, sm3:%x)\n", path, detached.KeyID, detached.Digest)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed verification", failed, flags.NArg())
	}
	return nil
}

func runGenerateKey(args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("generate-key", stderr)
	keyPath := flags.String("key", "", "file to write the private key to (mode 0600)")
	publicKeyPath := flags.String("public-key", "", "file to write the public key to")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *keyPath == "" || *publicKeyPath == "" || flags.NArg() > 0 {
		return fmt.Errorf("%w: generate-key needs -key and -public-key and no other arguments", ErrUsage)
	}
	key, err := crypto.GenerateSM2Key()
	if err != nil {
		return err
	}
	if err := crypto.WriteSM2PrivateKeyFile(*keyPath, key); err != nil {
		return err
	}
	if err := crypto.WriteSM2PublicKeyFile(*publicKeyPath, &key.PublicKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote SM2 private key %s and public key %s\n", *keyPath, *publicKeyPath)
	return nil
}

func runPublicKey(args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("public-key", stderr)
	keyPath := flags.String("key", "", "SM2 private key, PEM")
	outPath := flags.String("out", "", "file to write the public key to; it must not exist")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *keyPath == "" || *outPath == "" || flags.NArg() > 0 {
		return fmt.Errorf("%w: public-key needs -key and -out and no other arguments", ErrUsage)
	}
	key, err := crypto.LoadSM2PrivateKeyFile(*keyPath)
	if err != nil {
		return err
	}
	if err := crypto.WriteSM2PublicKeyFile(*outPath, &key.PublicKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote SM2 public key %s\n", *outPath)
	return nil
}
