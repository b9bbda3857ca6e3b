package upload

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func encoded(t *testing.T, encode func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	picture := image.NewRGBA(image.Rect(0, 0, 64, 48))
	picture.Set(3, 4, color.RGBA{R: 200, A: 255})
	var buffer bytes.Buffer
	if err := encode(&buffer, picture); err != nil {
		t.Fatal(err)
	}
	return buffer.Bytes()
}

func TestCheckContent(t *testing.T) {
	pngFile := encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	jpegFile := encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	// The same PNG with its IHDR chunk claiming 40001 pixels of width,
	// with the chunk's CRC recomputed so that only the size is wrong.
	hugePNG := bytes.Clone(pngFile)
	binary.BigEndian.PutUint32(hugePNG[16:20], 40001)
	binary.BigEndian.PutUint32(hugePNG[29:33], crc32.ChecksumIEEE(hugePNG[12:29]))
	pdfFile := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	garbage := make([]byte, 100)
	rand.Read(garbage)

	tests := []struct {
		name, contentType string
		data              []byte
		valid             bool
	}{
		{"png", "image/png", pngFile, true},
		{"jpeg", "image/jpeg", jpegFile, true},
		{"jpeg with trailing bytes", "image/jpeg", append(bytes.Clone(jpegFile), "camera"...), true},
		{"pdf", "application/pdf", pdfFile, true},
		{"png signature and noise", "image/png", append([]byte("\x89PNG\r\n\x1a\n"), garbage...), false},
		{"truncated png", "image/png", pngFile[:len(pngFile)-20], false},
		{"truncated jpeg", "image/jpeg", jpegFile[:len(jpegFile)/2], false},
		{"png header 40001 wide", "image/png", hugePNG, false},
		{"pdf header and script", "application/pdf", []byte("%PDF-1.4\n<script>"), false},
		{"truncated pdf", "application/pdf", pdfFile[:30], false},
		{"other type", "text/plain", []byte("hello"), false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := CheckContent(test.contentType, test.data)
			if test.valid && err != nil {
				t.Errorf("CheckContent = %v, want nil", err)
			}
			if !test.valid && !errors.Is(err, ErrUnreadable) {
				t.Errorf("CheckContent = %v, want ErrUnreadable", err)
			}
		})
	}
}
