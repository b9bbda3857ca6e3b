// Package logging sets up log/slog for both binaries: JSON lines on
// standard error with snake_case keys, at the level LOG_LEVEL names.
package logging

import (
	"log/slog"
	"os"
	"strings"
)

// Setup installs the default logger for a binary and returns it.
func Setup(binary string) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv("LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("binary", binary)
	slog.SetDefault(logger)
	return logger
}
