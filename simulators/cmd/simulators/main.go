// Command simulators runs the simulators of the big-data centre's services
// (unified identity, certificate API, data API, SMS), the city's
// service-rating system (好差评) and the cloud's cryptography service until
// SIGINT or SIGTERM.
// Every setting comes from a flag or, when the flag is not given, from the
// SIM_* environment variable named in its help text.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sh-preschool/preschool/simulators"
	"github.com/sh-preschool/preschool/simulators/fault"
	"github.com/sh-preschool/preschool/simulators/identity"
)

// exitUsage is the exit status for invalid flags or environment variables.
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err and returns the process exit status for it.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "simulators:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "simulators:", err)
		return 1
	}
}

// usageError is an invalid flag or environment variable.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// run starts the simulators and serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	settings, err := loadSettings(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: settings.logLevel}))
	settings.config.Logger = logger
	logger.Info("starting simulators",
		"client_id", settings.config.ClientID,
		"client_secret", maskSecret(settings.config.ClientSecret),
		"identity_redirect_hosts", settings.config.IdentityRedirectHosts,
		"seed", settings.config.Seed,
	)

	running, err := simulators.Start(ctx, settings.config)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "identity      %s\n", running.IdentityURL)
	fmt.Fprintf(stdout, "certificates  %s\n", running.CertificatesURL)
	fmt.Fprintf(stdout, "data          %s\n", running.DataURL)
	fmt.Fprintf(stdout, "crypto        %s\n", running.CryptoURL)
	fmt.Fprintf(stdout, "sms           %s\n", running.SMSURL)
	fmt.Fprintf(stdout, "rating        %s\n", running.RatingURL)
	if running.GatewayURL != "" {
		fmt.Fprintf(stdout, "gateway       %s\n", running.GatewayURL)
	}

	<-ctx.Done()
	logger.Info("stopping simulators", "cause", context.Cause(ctx).Error())
	if err := running.Close(); err != nil {
		return err
	}
	logger.Info("simulators stopped")
	return nil
}

func maskSecret(secret string) string {
	if secret == "" {
		return ""
	}
	return "****"
}

// settings is the parsed command line and environment.
type settings struct {
	config   simulators.Config
	logLevel slog.Level
}

// option is one setting with its flag, environment variable and default.
type option struct {
	flag         string
	env          string
	defaultValue string
	usage        string
	// apply parses value into s, or returns the expected form.
	apply func(s *settings, value string) error
}

func options() []option {
	list := []option{
		{flag: "identity-listen", env: "SIM_IDENTITY_LISTEN", defaultValue: "127.0.0.1:7101", usage: "listen address of the identity simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.IdentityAddr) }},
		{flag: "certificates-listen", env: "SIM_CERTIFICATES_LISTEN", defaultValue: "127.0.0.1:7102", usage: "listen address of the certificate API simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.CertificatesAddr) }},
		{flag: "data-listen", env: "SIM_DATA_LISTEN", defaultValue: "127.0.0.1:7103", usage: "listen address of the data API simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.DataAddr) }},
		{flag: "crypto-listen", env: "SIM_CRYPTO_LISTEN", defaultValue: "127.0.0.1:7104", usage: "listen address of the cryptography service simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.CryptoAddr) }},
		{flag: "sms-listen", env: "SIM_SMS_LISTEN", defaultValue: "127.0.0.1:7105", usage: "listen address of the SMS simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.SMSAddr) }},
		{flag: "sms-delivery-delay", env: "SIM_SMS_DELIVERY_DELAY", defaultValue: "1s", usage: "time after acceptance when the SMS simulator reports a message delivered",
			apply: func(s *settings, v string) error { return parseDuration(v, &s.config.SMSDeliveryDelay) }},
		{flag: "rating-listen", env: "SIM_RATING_LISTEN", defaultValue: "127.0.0.1:7107", usage: "listen address of the service-rating (好差评) simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.RatingAddr) }},
		{flag: "gateway-listen", env: "SIM_GATEWAY_LISTEN", defaultValue: "127.0.0.1:7106", usage: "TLS listen address of the security authentication gateway simulator",
			apply: func(s *settings, v string) error { return parseListen(v, &s.config.GatewayAddr) }},
		{flag: "gateway-upstream", env: "SIM_GATEWAY_UPSTREAM", defaultValue: "http://127.0.0.1:8081", usage: "URL the gateway forwards to (the back office); \"off\" does not start the gateway",
			apply: func(s *settings, v string) error {
				if v != "off" {
					s.config.GatewayUpstream = v
				}
				return nil
			}},
		{flag: "gateway-dir", env: "SIM_GATEWAY_DIR", defaultValue: ".run/gateway", usage: "directory for the gateway's CA, public key and demo client certificate",
			apply: func(s *settings, v string) error { s.config.GatewayDir = v; return nil }},
	}
	faultTargets := []struct {
		name   string
		config func(s *settings) *fault.Config
	}{
		{"identity", func(s *settings) *fault.Config { return &s.config.Identity }},
		{"certificates", func(s *settings) *fault.Config { return &s.config.Certificates }},
		{"data", func(s *settings) *fault.Config { return &s.config.Data }},
		{"crypto", func(s *settings) *fault.Config { return &s.config.Crypto }},
		{"sms", func(s *settings) *fault.Config { return &s.config.SMS }},
		{"rating", func(s *settings) *fault.Config { return &s.config.Rating }},
	}
	for _, target := range faultTargets {
		prefix := "SIM_" + strings.ToUpper(target.name) + "_"
		list = append(list,
			option{flag: target.name + "-latency", env: prefix + "LATENCY", defaultValue: "0s", usage: "latency added to each " + target.name + " request",
				apply: func(s *settings, v string) error { return parseDuration(v, &target.config(s).Latency) }},
			option{flag: target.name + "-jitter", env: prefix + "JITTER", defaultValue: "0s", usage: "maximum random extra latency of each " + target.name + " request",
				apply: func(s *settings, v string) error { return parseDuration(v, &target.config(s).Jitter) }},
			option{flag: target.name + "-failure-rate", env: prefix + "FAILURE_RATE", defaultValue: "0", usage: "probability from 0 to 1 that a " + target.name + " request fails",
				apply: func(s *settings, v string) error { return parseRate(v, &target.config(s).FailureRate) }},
			option{flag: target.name + "-failure-mode", env: prefix + "FAILURE_MODE", defaultValue: fault.ModeError, usage: "how a failing " + target.name + " request fails: error (503), hang or reset",
				apply: func(s *settings, v string) error { return parseMode(v, &target.config(s).FailureMode) }},
		)
	}
	return append(list,
		option{flag: "client-id", env: "SIM_CLIENT_ID", defaultValue: identity.DefaultClientID, usage: "client_id the identity simulator accepts",
			apply: func(s *settings, v string) error { s.config.ClientID = v; return nil }},
		option{flag: "client-secret", env: "SIM_CLIENT_SECRET", defaultValue: identity.DefaultClientSecret, usage: "client_secret the identity simulator accepts",
			apply: func(s *settings, v string) error { s.config.ClientSecret = v; return nil }},
		option{flag: "crypto-api-key", env: "SIM_CRYPTO_API_KEY", defaultValue: simulators.DefaultCryptoAPIKey, usage: "API key the cryptography service simulator accepts",
			apply: func(s *settings, v string) error { s.config.CryptoAPIKey = v; return nil }},
		option{flag: "identity-redirect-hosts", env: "SIM_IDENTITY_REDIRECT_HOSTS", defaultValue: "", usage: "comma-separated host names accepted in redirect_uri besides loopback hosts",
			apply: func(s *settings, v string) error { return parseHosts(v, &s.config.IdentityRedirectHosts) }},
		option{flag: "seed", env: "SIM_SEED", defaultValue: "0", usage: "seed of the fault decisions; 0 picks a random seed",
			apply: func(s *settings, v string) error { return parseSeed(v, &s.config.Seed) }},
		option{flag: "log-level", env: "SIM_LOG_LEVEL", defaultValue: "info", usage: "log level: debug (also logs each injected fault), info, warn or error",
			apply: func(s *settings, v string) error { return parseLogLevel(v, &s.logLevel) }},
	)
}

// loadSettings parses flags, then fills each setting whose flag was not
// given from its environment variable, else from its default. An invalid
// value is a *usageError naming the flag or variable and the expected form.
func loadSettings(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	list := options()
	flags := flag.NewFlagSet("simulators", flag.ContinueOnError)
	flags.SetOutput(stderr)
	values := make(map[string]*string, len(list))
	for _, opt := range list {
		values[opt.flag] = flags.String(opt.flag, "", fmt.Sprintf("%s (env %s, default %q)", opt.usage, opt.env, opt.defaultValue))
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return settings{}, err
		}
		return settings{}, &usageError{err}
	}
	if flags.NArg() > 0 {
		return settings{}, &usageError{fmt.Errorf("unexpected argument %q: all settings are flags or SIM_* environment variables", flags.Arg(0))}
	}
	setFlags := make(map[string]bool)
	flags.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })

	var parsed settings
	for _, opt := range list {
		value, source := *values[opt.flag], "-"+opt.flag
		if !setFlags[opt.flag] {
			value, source = getenv(opt.env), opt.env
			if value == "" {
				value, source = opt.defaultValue, "default of "+opt.env
			}
		}
		if err := opt.apply(&parsed, strings.TrimSpace(value)); err != nil {
			return settings{}, &usageError{fmt.Errorf("invalid %s %q: %w", source, value, err)}
		}
	}
	return parsed, nil
}

func parseListen(value string, into *string) error {
	host, port, err := net.SplitHostPort(value)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || strings.ContainsAny(host, " /") {
		return errors.New("expected host:port such as 127.0.0.1:7101 or [::1]:7101 (port 0 picks a free port)")
	}
	*into = value
	return nil
}

func parseDuration(value string, into *time.Duration) error {
	duration, err := time.ParseDuration(value)
	if err != nil || duration < 0 {
		return errors.New("expected a non-negative Go duration such as 20ms or 1.5s")
	}
	*into = duration
	return nil
}

func parseRate(value string, into *float64) error {
	rate, err := strconv.ParseFloat(value, 64)
	if err != nil || !(rate >= 0 && rate <= 1) {
		return errors.New("expected a number from 0 to 1 such as 0.05")
	}
	*into = rate
	return nil
}

func parseMode(value string, into *string) error {
	switch value {
	case fault.ModeError, fault.ModeHang, fault.ModeReset:
		*into = value
		return nil
	default:
		return fmt.Errorf("expected %q, %q or %q", fault.ModeError, fault.ModeHang, fault.ModeReset)
	}
}

func parseHosts(value string, into *[]string) error {
	*into = nil
	if value == "" {
		return nil
	}
	for _, host := range strings.Split(value, ",") {
		host = strings.TrimSpace(host)
		if host == "" || strings.ContainsAny(host, ":/ @") {
			return errors.New("expected comma-separated host names without scheme or port, such as edge.dev.example")
		}
		*into = append(*into, host)
	}
	return nil
}

func parseSeed(value string, into *uint64) error {
	seed, err := strconv.ParseUint(value, 10, 64)
	if err != nil {
		return errors.New("expected an unsigned decimal integer; 0 picks a random seed")
	}
	*into = seed
	return nil
}

func parseLogLevel(value string, into *slog.Level) error {
	if err := into.UnmarshalText([]byte(value)); err != nil {
		return errors.New("expected debug, info, warn or error")
	}
	return nil
}
