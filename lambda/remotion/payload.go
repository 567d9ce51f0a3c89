package remotion

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"remotion-lambda-iam/lambda/remotion/render"
)

// MaxInlinePayloadSize is how many characters of input props and environment
// variables travel inside the start payload: Lambda's 200,000 less Remotion's
// margin of 6,024. Past it the props go through S3.
const MaxInlinePayloadSize = 200_000 - 6_024

// startPayload is the "start" routine's payload, key for key what Remotion's
// own client sends. Pointers and interfaces marshal as null where unset:
// the render function validates presence, not only values.
type startPayload struct {
	EnableCancellation             bool                    `json:"enableCancellation"`
	RendererFunctionName           *string                 `json:"rendererFunctionName"`
	FramesPerLambda                *int                    `json:"framesPerLambda"`
	Concurrency                    *int                    `json:"concurrency"`
	Composition                    string                  `json:"composition"`
	ServeURL                       string                  `json:"serveUrl"`
	InputProps                     serializedInputProps    `json:"inputProps"`
	Codec                          string                  `json:"codec"`
	ImageFormat                    string                  `json:"imageFormat"`
	Crf                            *int                    `json:"crf"`
	EnvVariables                   map[string]string       `json:"envVariables"`
	PixelFormat                    *string                 `json:"pixelFormat"`
	ProResProfile                  *string                 `json:"proResProfile"`
	X264Preset                     *string                 `json:"x264Preset"`
	GopSize                        *int                    `json:"gopSize"`
	JPEGQuality                    int                     `json:"jpegQuality"`
	MaxRetries                     int                     `json:"maxRetries"`
	Privacy                        render.Privacy          `json:"privacy"`
	LogLevel                       string                  `json:"logLevel"`
	FrameRange                     *render.FrameRange      `json:"frameRange"`
	OutName                        *render.OutName         `json:"outName"`
	TimeoutInMilliseconds          int                     `json:"timeoutInMilliseconds"`
	ChromiumOptions                struct{}                `json:"chromiumOptions"`
	Scale                          float64                 `json:"scale"`
	EveryNthFrame                  int                     `json:"everyNthFrame"`
	NumberOfGifLoops               *int                    `json:"numberOfGifLoops"`
	ConcurrencyPerLambda           int                     `json:"concurrencyPerLambda"`
	DownloadBehavior               render.DownloadBehavior `json:"downloadBehavior"`
	Muted                          bool                    `json:"muted"`
	Version                        string                  `json:"version"`
	Overwrite                      bool                    `json:"overwrite"`
	AudioBitrate                   *string                 `json:"audioBitrate"`
	VideoBitrate                   *string                 `json:"videoBitrate"`
	EncodingBufferSize             *string                 `json:"encodingBufferSize"`
	EncodingMaxRate                *string                 `json:"encodingMaxRate"`
	Webhook                        *render.Webhook         `json:"webhook"`
	ForceHeight                    *int                    `json:"forceHeight"`
	ForceWidth                     *int                    `json:"forceWidth"`
	ForceFps                       *int                    `json:"forceFps"`
	ForceDurationInFrames          *int                    `json:"forceDurationInFrames"`
	BucketName                     *string                 `json:"bucketName"`
	AudioCodec                     *string                 `json:"audioCodec"`
	Type                           string                  `json:"type"`
	OffthreadVideoCacheSizeInBytes *int64                  `json:"offthreadVideoCacheSizeInBytes"`
	DeleteAfter                    *string                 `json:"deleteAfter"`
	ColorSpace                     *string                 `json:"colorSpace"`
	PreferLossless                 bool                    `json:"preferLossless"`
	ForcePathStyle                 bool                    `json:"forcePathStyle"`
	Metadata                       map[string]string       `json:"metadata"`
	LicenseKey                     *string                 `json:"licenseKey"`
	OffthreadVideoThreads          *int                    `json:"offthreadVideoThreads"`
	MediaCacheSizeInBytes          *int64                  `json:"mediaCacheSizeInBytes"`
	StorageClass                   *string                 `json:"storageClass"`
	IsProduction                   *bool                   `json:"isProduction"`
	SampleRate                     int                     `json:"sampleRate"`
}

// serializedInputProps is either the props themselves, as a JSON string, or
// where in S3 the render function finds them.
type serializedInputProps struct {
	Type       string `json:"type"`
	Payload    string `json:"payload,omitempty"`
	Hash       string `json:"hash,omitempty"`
	BucketName string `json:"bucketName,omitempty"`
}

// statusPayload is the "status" routine's payload (getRenderProgress()).
type statusPayload struct {
	Type             string  `json:"type"`
	BucketName       string  `json:"bucketName"`
	RenderID         string  `json:"renderId"`
	Version          string  `json:"version"`
	S3OutputProvider *string `json:"s3OutputProvider"`
	LogLevel         string  `json:"logLevel"`
	ForcePathStyle   bool    `json:"forcePathStyle"`
}

// newStartPayload fills every key the way renderMediaOnLambda() does for the
// same options; props is the already serialized input props.
func newStartPayload(o *render.Options, version string, props serializedInputProps) *startPayload {
	p := &startPayload{
		FramesPerLambda:       o.FramesPerLambda,
		Concurrency:           o.Concurrency,
		Composition:           o.Composition,
		ServeURL:              o.ServeURL,
		InputProps:            props,
		Codec:                 o.CodecOrDefault(),
		ImageFormat:           o.ImageFormatOrDefault(),
		Crf:                   o.Crf,
		EnvVariables:          o.EnvVariables,
		PixelFormat:           o.PixelFormat,
		ProResProfile:         o.ProResProfile,
		X264Preset:            o.X264Preset,
		JPEGQuality:           valueOr(o.JPEGQuality, render.DefaultJPEGQuality),
		MaxRetries:            valueOr(o.MaxRetries, render.DefaultMaxRetries),
		Privacy:               o.Privacy,
		LogLevel:              "info",
		FrameRange:            o.FrameRange,
		OutName:               o.OutName,
		Webhook:               o.Webhook,
		TimeoutInMilliseconds: valueOr(o.TimeoutInMilliseconds, render.DefaultTimeoutInMilliseconds),
		Scale:                 valueOr(o.Scale, render.DefaultScale),
		EveryNthFrame:         valueOr(o.EveryNthFrame, render.DefaultEveryNthFrame),
		NumberOfGifLoops:      o.NumberOfGifLoops,
		ConcurrencyPerLambda:  1,
		DownloadBehavior:      render.DownloadBehavior{Type: "play-in-browser"},
		Muted:                 valueOr(o.Muted, false),
		Version:               version,
		AudioBitrate:          o.AudioBitrate,
		VideoBitrate:          o.VideoBitrate,
		EncodingBufferSize:    o.EncodingBufferSize,
		EncodingMaxRate:       o.EncodingMaxRate,
		AudioCodec:            o.AudioCodec,
		Type:                  "start",
		DeleteAfter:           o.DeleteAfter,
		ColorSpace:            o.ColorSpace,
		Metadata:              o.Metadata,
		SampleRate:            48000,
	}
	if p.EnvVariables == nil {
		p.EnvVariables = map[string]string{}
	}
	if p.Privacy == "" {
		p.Privacy = render.PrivacyPublic
	}
	if o.DownloadBehavior != nil {
		p.DownloadBehavior = *o.DownloadBehavior
	}
	if props.Type == "bucket-url" {
		p.BucketName = &props.BucketName
	}
	return p
}

func valueOr[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}

// marshal encodes v as JSON.stringify would: no HTML escaping, no newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// serializeProps turns the request's props into the string Remotion sends:
// the JSON object with insignificant white space removed, {} when absent.
func serializeProps(props json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(props)) == 0 || bytes.Equal(bytes.TrimSpace(props), []byte("null")) {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, props); err != nil {
		return "", fmt.Errorf("serialize input props: %w", err)
	}
	return buf.String(), nil
}

// needsUpload reports whether props and environment variables are too large
// to travel inline. Sizes are counted as JavaScript counts string length, in
// UTF-16 code units.
func needsUpload(serializedProps string, envVariables map[string]string) (bool, error) {
	env := envVariables
	if env == nil {
		env = map[string]string{}
	}
	envJSON, err := marshal(env)
	if err != nil {
		return false, fmt.Errorf("serialize envVariables: %w", err)
	}
	return jsLength(serializedProps)+jsLength(string(envJSON)) > MaxInlinePayloadSize, nil
}

func jsLength(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF { // outside the BMP: a surrogate pair
			n += 2
		} else {
			n++
		}
	}
	return n
}

const hashAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomHash returns 10 random characters, as Remotion names uploaded props.
func randomHash() string {
	b := make([]byte, 10)
	rand.Read(b) // never returns an error: crypto/rand panics instead
	for i := range b {
		b[i] = hashAlphabet[int(b[i])%len(hashAlphabet)]
	}
	return string(b)
}

// InputPropsKey is where uploaded input props live in the bucket.
func InputPropsKey(hash string) string {
	return "input-props/" + hash + ".json"
}
