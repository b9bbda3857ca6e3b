package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/keys"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/upload"
)

// keysUsage lists the keys subcommands.
const keysUsage = "usage: backoffice keys rotate [-batch N] [-uploads DIR], backoffice keys wrap-index-key, " +
	"or backoffice keys resign [-old-keys ID=PUBLIC_KEY.pem,...]"

// runKeys runs "backoffice keys rotate", "keys wrap-index-key" and
// "keys resign".
func runKeys(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) == 0 {
		return errors.New(keysUsage)
	}
	switch args[0] {
	case "rotate":
		return runKeysRotate(ctx, reader, args)
	case "wrap-index-key":
		return runWrapIndexKey(ctx, reader, args[1:])
	case "resign":
		return runResign(ctx, reader, args[1:])
	}
	return errors.New(keysUsage)
}

// runKeysRotate runs "backoffice keys rotate".
func runKeysRotate(ctx context.Context, reader *config.Reader, args []string) error {
	flags := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	batch := flags.Int("batch", 500, "rows re-encrypted per transaction, and upload files per progress line")
	uploadDir := flags.String("uploads", reader.String("EDGE_UPLOAD_DIR", ".run/uploads"),
		"the edges' folder of sealed certificate uploads (default EDGE_UPLOAD_DIR); empty skips the files")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if *batch < 1 || *batch > 10_000 {
		return fmt.Errorf("-batch %d is out of range: use 1 to 10000", *batch)
	}
	keyring, err := loadKeyring(ctx, reader)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, reader, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	rotator := &keys.Rotator{DB: db, Keyring: keyring, BatchSize: *batch}
	results, err := rotator.Rotate(ctx)
	for _, result := range results {
		fmt.Printf("%s: %d rows re-encrypted under key %s\n", result.Table, result.Rows, keyring.ActiveKeyID())
	}
	if err != nil {
		return err
	}
	after := map[string]any{"tables": results}
	if *uploadDir != "" {
		files, err := (&upload.Rotator{Dir: *uploadDir, Keyring: keyring, BatchSize: *batch}).Rotate(ctx)
		fmt.Printf("upload files in %s: %d re-encrypted under key %s, %d already under it, %d failed, %d temporary files of crashed writes removed\n",
			*uploadDir, files.Files, keyring.ActiveKeyID(), files.Current, len(files.Failed), files.TempRemoved)
		for _, failure := range files.Failed {
			fmt.Println("  failed:", failure)
		}
		if err != nil {
			return err
		}
		if len(files.Failed) > 0 {
			return fmt.Errorf("%d upload files were not re-encrypted: keep their old keys in the keyring, fix the files listed above and run again", len(files.Failed))
		}
		after["uploadFiles"] = files.Files
	}
	err = (&audit.Trail{DB: db, Now: time.Now}).Record(ctx, nil, nil, audit.Event{
		Action: "keys.rotate", Resource: "keyring", ResourceID: keyring.ActiveKeyID(), After: after,
		Detail: "通过命令行将加密字段和上传文件重新加密到密钥 " + keyring.ActiveKeyID(),
	})
	return err
}

// runWrapIndexKey runs "backoffice keys wrap-index-key": it replaces the
// plaintext blind-index key of CRYPTO_KEYRING_FILE with the same key wrapped
// by the cloud's cryptography service, which CRYPTO_PROVIDER=cloud needs.
func runWrapIndexKey(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) != 0 {
		return errors.New("usage: backoffice keys wrap-index-key (it takes no arguments; it reads CRYPTO_KEYRING_FILE and the CRYPTO_SERVICE_* settings)")
	}
	cfg := crypto.LoadProviderConfig(reader)
	if cfg.Kind != crypto.ProviderCloud {
		return errors.New("keys wrap-index-key wraps the blind-index key with the cloud's cryptography service: set CRYPTO_PROVIDER=cloud and CRYPTO_SERVICE_URL, CRYPTO_SERVICE_API_KEY and CRYPTO_SEALING_KEY_ID")
	}
	if cfg.KeyringFile == "" {
		return errors.New("CRYPTO_KEYRING_FILE is not set: it names the keyring file whose index key is wrapped")
	}
	service, err := crypto.NewProvider(cfg)
	if err != nil {
		return err
	}
	wrapped, err := crypto.WrapIndexKey(ctx, cfg.KeyringFile, service)
	if err != nil {
		return err
	}
	if !wrapped {
		fmt.Printf("the blind-index key in %s is wrapped already; nothing changed\n", cfg.KeyringFile)
		return nil
	}
	fmt.Printf("wrapped the blind-index key of %s under the service's key %s and removed the plaintext key from the file.\n"+
		"Copy the file to every edge and back-office host before they start with CRYPTO_PROVIDER=cloud, and keep the old file offline: "+
		"it is the only copy of the index key outside the service.\n", cfg.KeyringFile, cfg.SealingKeyID)
	return nil
}

// runResign runs "backoffice keys resign": it moves the access-control rows
// signed by previous signing keys under the current provider's key.
func runResign(ctx context.Context, reader *config.Reader, args []string) error {
	flags := flag.NewFlagSet("keys resign", flag.ContinueOnError)
	oldKeys := flags.String("old-keys", reader.String("CRYPTO_VERIFY_KEYS", ""),
		"public keys of the previous signing keys as id=path,id=path (default CRYPTO_VERIFY_KEYS); "+
			"openssl pkey -in OLD_SIGNING_KEY.pem -pubout writes one")
	if err := flags.Parse(args); err != nil {
		return err
	}
	old, err := crypto.LoadVerifier("-old-keys", *oldKeys)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, reader, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	integrity, err := openIntegrity(ctx, reader, db)
	if err != nil {
		return err
	}
	report, err := keys.Resign(ctx, db, integrity, &audit.Trail{DB: db, Now: time.Now}, old)
	if err != nil {
		return err
	}
	fmt.Printf("re-signed with key %s: %d roles %v, %d staff accounts %v, %d certificate bindings; %d rows already under it, %d unsigned rows left alone\n",
		report.KeyID, len(report.Roles), report.Roles, len(report.StaffIDs), report.StaffIDs, len(report.Certificates),
		report.Current, report.Unsigned)
	for _, problem := range report.Problems {
		fmt.Fprintf(os.Stderr, "not re-signed, its signature does not verify: %s %s: %v\n", problem.Resource, problem.ResourceID, problem.Cause)
	}
	if len(report.Problems) > 0 {
		return fmt.Errorf("%d access-control rows were not re-signed because their signatures do not verify under -old-keys or the provider: "+
			"they may have been changed in the database; check them, and give the missing public keys in -old-keys if a key is missing", len(report.Problems))
	}
	return nil
}
