// The back office drains the enrolment stream into PostgreSQL, verifies
// registrations in the background, publishes the edge's configuration and
// serves the staff admin app.
//
// Usage:
//
//	backoffice [serve]        run the server (the default)
//	backoffice migrate        create the database if needed and apply migrations
//	backoffice seed [-demo]   load Shanghai's divisions and generate demo data
//	backoffice publish        publish the edge configuration snapshot now
//	backoffice restore-receipts [-force]  write back into Redis the parents' receipts, lists
//	                          and claims of stored records that Redis lost (after a failover);
//	                          -force writes under a REDIS_PREFIX without a configuration snapshot
//	backoffice keygen FILE [KEY]  write a new keyring file unless FILE exists, and an
//	                          SM2 signing key (PKCS#8 PEM) unless KEY exists
//	backoffice keys rotate [-batch N] [-uploads DIR]  re-encrypt every sealed column and upload file under the keyring's active key
//	backoffice keys wrap-index-key  replace the keyring file's plaintext blind-index key with the same key
//	                          wrapped by the cloud's cryptography service (needed before CRYPTO_PROVIDER=cloud)
//	backoffice keys resign [-old-keys ID=PUB.pem,...]  re-sign the access-control rows that verify under
//	                          the previous signing keys with the current provider's key (after a switch of provider)
//	backoffice acl verify     check the signatures of roles and staff accounts (exit 1 if any fails)
//	backoffice acl sign-unsigned  sign the roles and accounts that have no signature yet
//	backoffice staff create   create a staff account (flags: -h lists them)
//	backoffice staff seed-demo  create one demo account per built-in role
//	backoffice audit verify   check the audit trail's hash chain and signed checkpoints (exit 1 if broken)
//	backoffice audit checkpoint  sign the audit chain's head with SM2 now
//	backoffice monitoring generate|rebuild|api-key
//	                          attendance data: generate a school year, rebuild the
//	                          rollups, create a kindergarten system's API key
//	backoffice dashboard ...  rebuild the enrolment rollup, generate or import
//	                          dashboard figures (no arguments lists them)
//	backoffice verify         check this executable's release signature under the
//	                          key in RELEASE_PUBLIC_KEY (exit 1 if it does not verify)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // enrolment dates are in Asia/Shanghai on any host

	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/dictionary"
	"github.com/sh-preschool/preschool/backoffice/forms"
	"github.com/sh-preschool/preschool/backoffice/matching"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/receipts"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/backoffice/server"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/database"
	"github.com/sh-preschool/preschool/shared/debugserver"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/logging"
	"github.com/sh-preschool/preschool/shared/redisclient"
	"github.com/sh-preschool/preschool/shared/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backoffice:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	logging.Setup("backoffice")
	command := "serve"
	if len(args) > 0 && args[0][0] != '-' {
		command, args = args[0], args[1:]
	}
	reader := config.FromEnv()
	publicKey := reader.String(release.PublicKeyVariable, "")
	switch command {
	case "verify":
		if publicKey == "" {
			return errors.New("verify needs " + release.PublicKeyVariable + ", the path of the release public key")
		}
		if err := release.VerifySelf(publicKey); err != nil {
			return err
		}
		fmt.Println("the release signature of this executable verifies, version", release.Version)
		return nil
	case "serve":
		if err := release.StartupCheck(publicKey); err != nil {
			return err
		}
		// The drainer's garbage is short-lived and the heap small, so
		// collecting less often saves CPU at the peak. GOGC in the
		// environment overrides this.
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
		cfg, err := server.LoadConfig(reader)
		if err != nil {
			return err
		}
		stopProfiling, err := debugserver.Start(reader.String("PPROF_LISTEN", ""))
		if err != nil {
			return err
		}
		defer stopProfiling()
		return server.Run(ctx, cfg)
	case "migrate":
		db, err := openDatabase(ctx, reader, 2)
		if err != nil {
			return err
		}
		fmt.Println("database is migrated")
		return db.Close()
	case "seed":
		return runSeed(ctx, reader, args)
	case "publish":
		return runPublish(ctx, reader)
	case "restore-receipts":
		return runRestoreReceipts(ctx, reader, args)
	case "audit":
		if len(args) != 1 || args[0] != "verify" && args[0] != "checkpoint" {
			return errors.New("usage: backoffice audit verify, or backoffice audit checkpoint")
		}
		db, err := openDatabase(ctx, reader, 2)
		if err != nil {
			return err
		}
		defer db.Close()
		// Verifying needs only public keys: the signing key's, or retired
		// ones in CRYPTO_VERIFY_KEYS.
		provider, err := crypto.NewProvider(crypto.LoadProviderConfig(reader))
		if err != nil {
			return err
		}
		checkpoints := &audit.Checkpoints{DB: db, Provider: provider}
		if args[0] == "checkpoint" {
			checkpoint, written, err := checkpoints.Write(ctx)
			if err != nil {
				return err
			}
			if !written {
				fmt.Println("no new audit rows since the last checkpoint; nothing signed")
				return nil
			}
			fmt.Printf("signed audit checkpoint %d at row %d with key %s\n", checkpoint.ID, checkpoint.LastID, checkpoint.KeyID)
			return nil
		}
		return audit.VerifyCommand(ctx, db, checkpoints, os.Stdout)
	case "staff":
		return runStaff(ctx, reader, args)
	case "matching":
		return runMatching(ctx, reader, args)
	case "monitoring":
		db, err := openDatabase(ctx, reader, 4)
		if err != nil {
			return err
		}
		defer db.Close()
		return monitoring.Command(ctx, db, args, os.Stdout, time.Now())
	case "dashboard":
		return runDashboard(ctx, reader, args)
	case "keygen":
		if len(args) != 1 && len(args) != 2 {
			return errors.New("keygen needs the keyring file to write and optionally the SM2 signing key file, for example: backoffice keygen .run/keyring.json .run/signing-key.pem")
		}
		if err := crypto.GenerateKeyringFile(args[0], "k"+time.Now().Format("20060102")); err != nil {
			return err
		}
		if len(args) == 2 {
			return generateSigningKey(args[1])
		}
		return nil
	case "acl":
		return runACL(ctx, reader, args)
	case "keys":
		return runKeys(ctx, reader, args)
	}
	return fmt.Errorf("unknown command %q: use serve, migrate, seed, publish, restore-receipts, audit, acl, keys, staff, matching, monitoring, dashboard, keygen or verify", command)
}

func runSeed(ctx context.Context, reader *config.Reader, args []string) error {
	flags := flag.NewFlagSet("seed", flag.ContinueOnError)
	demo := flags.Bool("demo", false, "open the current enrolment year's registration and application windows now, for a demo")
	kindergartens := flags.Int("kindergartens", seed.DefaultKindergartens, "number of kindergartens to generate")
	if err := flags.Parse(args); err != nil {
		return err
	}
	db, err := openDatabase(ctx, reader, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	summary, err := seed.Run(ctx, db, seed.Options{Now: time.Now(), Demo: *demo, Kindergartens: *kindergartens})
	if err != nil {
		return err
	}
	if err := dictionary.Seed(ctx, db); err != nil {
		return err
	}
	if err := forms.Seed(ctx, db); err != nil {
		return err
	}
	if err := seedDashboardFigures(ctx, db); err != nil {
		return err
	}
	if *demo {
		if err := seedDemoStaff(ctx, reader, db); err != nil {
			return err
		}
	}
	fmt.Printf("seeded in %s: %d districts, %d streets, %d committees, %d kindergartens, %d campuses, %d seat plans, %d years, %d entries, %d matching rules, %d forms\n",
		time.Since(start).Round(time.Millisecond), summary.Districts, summary.Streets, summary.Committees, summary.Kindergartens,
		summary.Campuses, summary.SeatPlans, summary.Years, summary.Entries, summary.Rules, summary.Forms)
	if err := runPublish(ctx, reader); err != nil {
		if errors.Is(err, redisclient.ErrUnreachable) {
			fmt.Println("the snapshot was not published because Redis is unreachable; the back office publishes it when it starts")
			return nil
		}
		return err
	}
	return nil
}

func runStaff(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "seed-demo") {
		return errors.New("usage: backoffice staff create -username NAME -name 姓名 -role ROLE [-district CODE] [-street CODE] [-kindergarten ID] [-password P], or backoffice staff seed-demo")
	}
	db, err := openDatabase(ctx, reader, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "seed-demo" {
		return seedDemoStaff(ctx, reader, db)
	}
	keyring, err := loadKeyring(ctx, reader)
	if err != nil {
		return err
	}
	integrity, err := openIntegrity(ctx, reader, db)
	if err != nil {
		return err
	}
	return staff.CreateCommand(ctx, db, keyring, integrity, args[1:], os.Stdout)
}

// seedDemoStaff creates the demo accounts and prints them with their
// password, which only a demo may do.
func seedDemoStaff(ctx context.Context, reader *config.Reader, db *sqlx.DB) error {
	keyring, err := loadKeyring(ctx, reader)
	if err != nil {
		return err
	}
	integrity, err := openIntegrity(ctx, reader, db)
	if err != nil {
		return err
	}
	accounts, err := staff.SeedDemo(ctx, db, keyring, integrity)
	if err != nil {
		return err
	}
	created := 0
	for _, account := range accounts {
		if account.Created {
			created++
		}
	}
	fmt.Printf("demo staff accounts (%d created), password %s, TOTP enrolled at the first sign-in:", created, staff.DemoPassword)
	for _, account := range accounts {
		fmt.Printf(" %s", account.Username)
	}
	fmt.Println()
	return nil
}

// openIntegrity returns the signer and verifier of access-control rows that
// the server would use.
func openIntegrity(ctx context.Context, reader *config.Reader, db *sqlx.DB) (*access.Integrity, error) {
	return server.NewIntegrity(ctx, crypto.LoadProviderConfig(reader), db, &audit.Trail{DB: db, Now: time.Now})
}

// runACL runs "backoffice acl verify" and "backoffice acl sign-unsigned".
func runACL(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) != 1 || args[0] != "verify" && args[0] != "sign-unsigned" {
		return errors.New("usage: backoffice acl verify, or backoffice acl sign-unsigned")
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
	if args[0] == "sign-unsigned" {
		roles, staffIDs, err := integrity.SignUnsigned(ctx)
		if err != nil {
			return err
		}
		err = (&audit.Trail{DB: db, Now: time.Now}).Record(ctx, nil, nil, audit.Event{
			Action: "acl.sign_unsigned", Resource: "acl", ResourceID: "*",
			After:  map[string]any{"roles": roles, "staffIds": staffIDs},
			Detail: fmt.Sprintf("通过命令行为 %d 个角色和 %d 个账号补签权限数据", len(roles), len(staffIDs)),
		})
		if err != nil {
			return err
		}
		fmt.Printf("signed %d roles %v and %d staff accounts %v\n", len(roles), roles, len(staffIDs), staffIDs)
		return nil
	}
	problems, err := integrity.VerifyAll(ctx)
	if err != nil {
		return err
	}
	for _, problem := range problems {
		fmt.Printf("%s %s: %v\n", problem.Resource, problem.ResourceID, problem.Cause)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d access-control rows fail their signature check", len(problems))
	}
	fmt.Println("every role and staff account signature verifies")
	return nil
}

// openDatabase opens DATABASE_URL with at most connections connections,
// for a command that runs outside the server.
func openDatabase(ctx context.Context, reader *config.Reader, connections int) (*sqlx.DB, error) {
	return server.OpenDatabase(ctx, databaseURL(reader), connections)
}

func databaseURL(reader *config.Reader) string {
	return reader.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable")
}

// openExistingDatabase connects without creating or migrating the
// database, for a command that must not mistake a mistyped DATABASE_URL
// for an empty system. It fails when the database has no enrolment tables.
func openExistingDatabase(ctx context.Context, reader *config.Reader) (*sqlx.DB, error) {
	url := databaseURL(reader)
	db, err := database.Open(ctx, url, database.Options{MaxOpenConns: 4})
	if err != nil {
		return nil, err
	}
	var migrated bool
	if err := db.GetContext(ctx, &migrated, `SELECT to_regclass('registration') IS NOT NULL`); err != nil {
		db.Close()
		return nil, err
	}
	if !migrated {
		db.Close()
		return nil, fmt.Errorf("the database of DATABASE_URL %s has no registration table: check DATABASE_URL", database.RedactURL(url))
	}
	return db, nil
}

func loadKeyring(ctx context.Context, reader *config.Reader) (*crypto.Keyring, error) {
	return crypto.LoadKeyring(ctx, crypto.LoadProviderConfig(reader))
}

// openRedis opens Redis for a command that runs beside the server, with
// the key names under its prefix.
func openRedis(ctx context.Context, reader *config.Reader) (rueidis.Client, enrol.Keys, error) {
	redis, err := redisclient.Open(ctx, redisclient.Options{
		Address: reader.String("REDIS_ADDR", "127.0.0.1:6379"), Password: reader.String("REDIS_PASSWORD", ""),
	})
	return redis, enrol.Keys{Prefix: reader.String("REDIS_PREFIX", "ps:")}, err
}

func runPublish(ctx context.Context, reader *config.Reader) error {
	db, err := openDatabase(ctx, reader, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	redis, keys, err := openRedis(ctx, reader)
	if err != nil {
		return err
	}
	defer redis.Close()
	publisher := &publish.Publisher{DB: db, Redis: redis, Keys: keys, Now: time.Now}
	published, err := publisher.Publish(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("published configuration snapshot %d\n", published.Version)
	return nil
}

// runRestoreReceipts writes back the receipts of stored records that Redis
// no longer holds. The drainer does the same by itself when it finds that
// Redis lost writes. An operator runs this after a failover or a restore
// of Redis from a backup.
func runRestoreReceipts(ctx context.Context, reader *config.Reader, args []string) error {
	flags := flag.NewFlagSet("restore-receipts", flag.ContinueOnError)
	force := flags.Bool("force", false, "write under a REDIS_PREFIX that holds no configuration snapshot")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: usage: backoffice restore-receipts [-force]", flags.Arg(0))
	}
	ttl := enrol.ReceiptTTL(reader)
	if err := reader.Err(); err != nil {
		return err
	}
	db, err := openExistingDatabase(ctx, reader)
	if err != nil {
		return err
	}
	defer db.Close()
	redis, keys, err := openRedis(ctx, reader)
	if err != nil {
		return err
	}
	defer redis.Close()
	// The back office publishes the edge's configuration under the prefix
	// when it starts, so a prefix without it is likely mistyped, and
	// receipts written under it would be lost to the edges for their
	// whole lifetime.
	published, err := redis.Do(ctx, redis.B().Exists().Key(keys.Snapshot()).Build()).AsInt64()
	if err != nil {
		return fmt.Errorf("read the configuration snapshot's key from Redis at REDIS_ADDR: %w", err)
	}
	if published == 0 && !*force {
		return fmt.Errorf("no configuration snapshot found in Redis under REDIS_PREFIX %q, so the prefix is likely not the edges'; "+
			"check REDIS_PREFIX, or, when Redis lost the snapshot too, run \"backoffice publish\" first or pass -force", keys.Prefix)
	}
	if published == 0 {
		fmt.Fprintf(os.Stderr, "warning: Redis holds no configuration snapshot under REDIS_PREFIX %q; writing under it as -force asks\n", keys.Prefix)
	}

	restorer := receipts.New(db, redis, keys, ttl, nil)
	start := time.Now()
	summary, err := restorer.Restore(ctx)
	fmt.Printf("checked %d stored records accepted within EDGE_RECEIPT_TTL %s; under REDIS_PREFIX %q wrote back %d registration and %d application receipts, and updated %d whose status or claim was behind, in %.1f s\n",
		summary.Checked, ttl, keys.Prefix, summary.Registrations, summary.Applications, summary.Updated, time.Since(start).Seconds())
	if err == nil && summary.Checked == 0 {
		fmt.Fprintln(os.Stderr, "warning: the database holds no family's record accepted within EDGE_RECEIPT_TTL (generated demo records are left out); check DATABASE_URL")
	}
	return err
}

// runMatching runs "backoffice matching validate -district CODE [-year YYYY]":
// the district's matching rules over the year's registration addresses.
func runMatching(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) == 0 || args[0] != "validate" {
		return errors.New("usage: backoffice matching validate -district 310104 [-year 2027]")
	}
	flags := flag.NewFlagSet("matching validate", flag.ContinueOnError)
	district := flags.String("district", "", "district code, such as 310104 for Xuhui")
	year := flags.Int("year", 0, "enrolment year; 0 means the latest")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if *district == "" {
		return errors.New("matching validate needs -district, such as -district 310104")
	}
	// The keyring opens the registration addresses, through the cloud
	// service when they were sealed with its data keys.
	keyring, err := loadKeyring(ctx, reader)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, reader, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	printf := func(format string, args ...any) { fmt.Printf(format, args...) }
	return matching.ValidationCommand(ctx, db, keyring, *district, *year, printf)
}

// generateSigningKey writes a new SM2 private key to path, readable only by
// its owner, unless the file exists already.
func generateSigningKey(path string) error {
	key, err := crypto.GenerateSM2Key()
	if err != nil {
		return err
	}
	if err := crypto.WriteSM2PrivateKeyFile(path, key); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}
