package prefill

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/upload"
)

// MaxUploadBytes bounds one uploaded certificate file.
const MaxUploadBytes = upload.MaxBytes

// ErrFileTooLarge rejects a certificate file over MaxUploadBytes, whether
// the handler or the server's body limit finds it.
var ErrFileTooLarge = apierror.New(http.StatusRequestEntityTooLarge, "file_too_large", "单个证照文件不能超过 5 MB，请压缩后重新上传。")

// UploadContext binds a sealed upload to the parent who made it; the back
// office opens the file with the record's owner index.
func UploadContext(ownerIndex []byte) string { return upload.Context(ownerIndex) }

// Uploads stores certificate files sealed with SM4 under Dir, one file per
// upload named by its ID.
type Uploads struct {
	Dir     string
	Keyring *crypto.Keyring
}

// FilePath returns where the upload with id made by the parent with
// ownerIndex is stored. The owner's folder makes an upload usable only in
// that parent's own submissions.
func (u *Uploads) FilePath(ownerIndex []byte, id string) string {
	return upload.Path(u.Dir, ownerIndex, id)
}

// Info returns the type and size of the file id uploaded by the parent with
// ownerIndex, and false when the file has no Info: it does not exist, or
// it was uploaded before the edge wrote Info beside each file.
func (u *Uploads) Info(ownerIndex []byte, id string) (upload.Info, bool) {
	data, err := os.ReadFile(upload.InfoPath(u.Dir, ownerIndex, id))
	if err != nil {
		return upload.Info{}, false
	}
	var info upload.Info
	if err := json.Unmarshal(data, &info); err != nil {
		slog.Error("upload info unreadable", "file_id", id, "error", err)
		return upload.Info{}, false
	}
	return info, true
}

// Exists reports whether the parent with ownerIndex uploaded the file id.
func (u *Uploads) Exists(ownerIndex []byte, id string) bool {
	info, err := os.Stat(u.FilePath(ownerIndex, id))
	return err == nil && info.Mode().IsRegular()
}

// SniffContentType returns the content type of a JPEG, PNG or PDF file from
// its first bytes, or "" for anything else, whatever the file is named.
func SniffContentType(head []byte) string { return upload.SniffContentType(head) }

// PostUpload handles POST /api/v1/uploads (multipart, field "file").
func (u *Uploads) PostUpload(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	header, err := ctx.FormFile("file")
	if err != nil {
		return apierror.Invalid("file", "missing_file", "请选择要上传的证照文件。")
	}
	if header.Size > MaxUploadBytes {
		return ErrFileTooLarge
	}
	file, err := header.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxUploadBytes+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxUploadBytes {
		return ErrFileTooLarge
	}
	contentType := SniffContentType(data)
	if contentType == "" {
		return apierror.Invalid("file", "unsupported_file_type", "只能上传 JPG、PNG 图片或 PDF 文件，请重新选择。")
	}
	if err := upload.CheckContent(contentType, data); err != nil {
		slog.Info("upload rejected as unreadable", "request_id", api.RequestID(ctx), "error", err)
		return apierror.Invalid("file", "file_unreadable", "文件已损坏或不完整，无法打开。请重新拍照或重新导出后上传。")
	}

	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		return err
	}
	id := hex.EncodeToString(idBytes)
	owner := u.Keyring.Index("owner", []byte(subject))
	sealed := u.Keyring.Seal(data, UploadContext(owner))
	// The info goes first, so every sealed file written from now on has it.
	// Both are written whole or not at all.
	info, err := json.Marshal(upload.Info{ContentType: contentType, Size: len(data)})
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	if err := upload.WriteFile(upload.InfoPath(u.Dir, owner, id), info); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	if err := upload.WriteFile(u.FilePath(owner, id), sealed); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	api.WriteJSON(ctx, http.StatusCreated, map[string]any{"fileId": id, "size": len(data), "contentType": contentType})
	return nil
}
