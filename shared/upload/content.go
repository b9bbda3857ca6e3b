package upload

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG for image.DecodeConfig
	_ "image/png"  // registers PNG for image.DecodeConfig
)

// ErrUnreadable is wrapped by CheckContent for a file that its type's
// decoder cannot read: truncated, corrupt, or only a valid first few bytes.
var ErrUnreadable = errors.New("file unreadable")

// maxImageSide bounds an image's width and height, in pixels: far above any
// camera's, so a larger header is corrupt or crafted.
const maxImageSide = 20000

// CheckContent checks that data is a whole file of contentType (from
// SniffContentType) without decoding all of it. An image's header must
// decode to a plausible size and the image must end with its format's end
// marker. A PDF must contain objects and end with %%EOF. Otherwise it
// returns an error wrapping ErrUnreadable.
func CheckContent(contentType string, data []byte) error {
	switch contentType {
	case "image/png", "image/jpeg":
		config, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%w: %s header: %v", ErrUnreadable, contentType, err)
		}
		if config.Width < 1 || config.Height < 1 || config.Width > maxImageSide || config.Height > maxImageSide {
			return fmt.Errorf("%w: %s of %d×%d pixels", ErrUnreadable, contentType, config.Width, config.Height)
		}
		if !endsWithMarker(contentType, data) {
			return fmt.Errorf("%w: %s without its end marker (truncated?)", ErrUnreadable, contentType)
		}
	case "application/pdf":
		// A PDF ends with %%EOF, possibly followed by a line break, so the
		// last kilobyte is searched.
		tail := data[max(0, len(data)-1024):]
		if !bytes.Contains(tail, []byte("%%EOF")) || !bytes.Contains(data, []byte(" obj")) {
			return fmt.Errorf("%w: PDF without objects or %%%%EOF (truncated?)", ErrUnreadable)
		}
	default:
		return fmt.Errorf("%w: unsupported type %q", ErrUnreadable, contentType)
	}
	return nil
}

// endsWithMarker reports whether an image ends with its format's end: the
// IEND chunk of a PNG, the EOI marker (FF D9) of a JPEG. Trailing bytes
// after it, which some cameras append, are allowed for JPEG.
func endsWithMarker(contentType string, data []byte) bool {
	if contentType == "image/png" {
		iend := []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}
		return bytes.HasSuffix(data, iend)
	}
	return bytes.Contains(data[max(0, len(data)-64<<10):], []byte{0xFF, 0xD9})
}
