// Package render holds the options of a Remotion render as
// renderMediaOnLambda() takes them, the rules the render function applies to
// them, and the names Remotion gives what it deploys. It does no I/O and
// imports nothing outside the standard library, so that the CDK app, the
// function and the CLI can all use it.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Defaults renderMediaOnLambda() applies when an option is not given.
const (
	DefaultCodec                 = "h264"
	DefaultImageFormat           = "jpeg"
	DefaultJPEGQuality           = 80
	DefaultMaxRetries            = 1
	DefaultTimeoutInMilliseconds = 30000
	DefaultScale                 = 1.0
	DefaultEveryNthFrame         = 1
)

// Limits the render function enforces.
const (
	MinFramesPerLambda      = 4   // MINIMUM_FRAMES_PER_FUNCTION
	MaxConcurrency          = 200 // MAX_FUNCTIONS_PER_RENDER
	MinTimeoutMilliseconds  = 7000
	MaxTimeoutMilliseconds  = 900000 // Lambda's own ceiling
	MaxScale                = 16.0
	maxMetadataEntries      = 100
	maxDownloadFileNameSize = 255
)

// Codecs renderMediaOnLambda() accepts, in Remotion's order.
var Codecs = []string{"h264", "h265", "vp8", "vp9", "mp3", "aac", "wav", "gif", "prores"}

var (
	imageFormats   = []string{"jpeg", "png", "none"}
	privacies      = []Privacy{PrivacyPublic, PrivacyPrivate, PrivacyNoACL}
	pixelFormats   = []string{"yuv420p", "yuva420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuva444p10le"}
	proResProfiles = []string{"4444-xq", "4444", "hq", "standard", "light", "proxy"}
	x264Presets    = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}
	audioCodecs    = []string{"pcm-16", "aac", "mp3", "opus"}
	colorSpaces    = []string{"default", "bt601", "bt709", "bt2020-ncl"}
	deleteAfters   = []string{"1-day", "3-days", "7-days", "30-days"}

	// supportedAudioCodecs is Remotion's table of which audio codec each codec can carry.
	supportedAudioCodecs = map[string][]string{
		"h264":   {"aac", "pcm-16", "mp3"},
		"h265":   {"aac", "pcm-16"},
		"vp8":    {"opus", "pcm-16"},
		"vp9":    {"opus", "pcm-16"},
		"mp3":    {"mp3", "pcm-16"},
		"aac":    {"aac", "pcm-16"},
		"wav":    {"pcm-16"},
		"gif":    {},
		"prores": {"aac", "pcm-16"},
	}

	// crfRanges holds the CRF range per codec; codecs missing here take no CRF at all.
	crfRanges = map[string][2]int{
		"h264": {1, 51},
		"h265": {0, 51},
		"vp8":  {4, 63},
		"vp9":  {0, 63},
	}

	bitratePattern = regexp.MustCompile(`^[1-9][0-9]*[kKmMgG]?$`)
)

// IsAudioCodec reports whether codec produces audio only.
func IsAudioCodec(codec string) bool {
	return codec == "mp3" || codec == "aac" || codec == "wav"
}

// FileExtension is the extension of the file the render produces.
func (o *Options) FileExtension() string {
	switch codec := o.CodecOrDefault(); codec {
	case "h264", "h265":
		return "mp4"
	case "vp8", "vp9":
		return "webm"
	case "prores":
		return "mov"
	default: // mp3, aac, wav, gif
		return codec
	}
}

// Options are the renderMediaOnLambda() options a caller can set. The JSON
// names are Remotion's own. A nil pointer means "not set": the payload carries
// Remotion's default for it, or null where Remotion sends null.
type Options struct {
	Composition           string            `json:"composition,omitempty"`
	ServeURL              string            `json:"serveUrl,omitempty"`
	InputProps            json.RawMessage   `json:"inputProps,omitempty"`
	Codec                 string            `json:"codec,omitempty"`
	ImageFormat           string            `json:"imageFormat,omitempty"`
	Crf                   *int              `json:"crf,omitempty"`
	JPEGQuality           *int              `json:"jpegQuality,omitempty"`
	FrameRange            *FrameRange       `json:"frameRange,omitempty"`
	EveryNthFrame         *int              `json:"everyNthFrame,omitempty"`
	Scale                 *float64          `json:"scale,omitempty"`
	Privacy               Privacy           `json:"privacy,omitempty"`
	Muted                 *bool             `json:"muted,omitempty"`
	AudioCodec            *string           `json:"audioCodec,omitempty"`
	AudioBitrate          *string           `json:"audioBitrate,omitempty"`
	VideoBitrate          *string           `json:"videoBitrate,omitempty"`
	EncodingMaxRate       *string           `json:"encodingMaxRate,omitempty"`
	EncodingBufferSize    *string           `json:"encodingBufferSize,omitempty"`
	PixelFormat           *string           `json:"pixelFormat,omitempty"`
	ProResProfile         *string           `json:"proResProfile,omitempty"`
	X264Preset            *string           `json:"x264Preset,omitempty"`
	NumberOfGifLoops      *int              `json:"numberOfGifLoops,omitempty"`
	ColorSpace            *string           `json:"colorSpace,omitempty"`
	FramesPerLambda       *int              `json:"framesPerLambda,omitempty"`
	Concurrency           *int              `json:"concurrency,omitempty"`
	MaxRetries            *int              `json:"maxRetries,omitempty"`
	TimeoutInMilliseconds *int              `json:"timeoutInMilliseconds,omitempty"`
	DownloadBehavior      *DownloadBehavior `json:"downloadBehavior,omitempty"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	DeleteAfter           *string           `json:"deleteAfter,omitempty"`
	EnvVariables          map[string]string `json:"envVariables,omitempty"`

	// OutName sends the output to a bucket of the caller's instead of the
	// remotionlambda-* bucket. It is set by the deployment, never by a request.
	OutName *OutName `json:"-"`
	// Webhook asks for the outcome to be POSTed back. It is set by the
	// deployment, never by a request.
	Webhook *Webhook `json:"-"`
}

// Privacy is who may read the rendered file, as S3 ACLs say it.
type Privacy string

const (
	// PrivacyPublic, renderMediaOnLambda()'s default, makes the file
	// public-read.
	PrivacyPublic Privacy = "public"
	// PrivacyPrivate keeps the file to the bucket's account.
	PrivacyPrivate Privacy = "private"
	// PrivacyNoACL sets no ACL at all: the only choice for buckets with ACLs
	// disabled (BucketOwnerEnforced), as buckets created today are.
	PrivacyNoACL Privacy = "no-acl"
)

// OutName is renderMediaOnLambda()'s outName in its {key, bucketName} form.
type OutName struct {
	Key        string `json:"key"`
	BucketName string `json:"bucketName"`
}

// DownloadBehavior is what the output URL does in a browser.
type DownloadBehavior struct {
	Type     string  `json:"type"`
	FileName *string `json:"fileName,omitempty"`
}

// UnmarshalJSON reads a download behaviour strictly: an unknown key is as
// likely a typo of fileName as anything else.
func (d *DownloadBehavior) UnmarshalJSON(data []byte) error {
	type plain DownloadBehavior
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return &ValidationError{Field: "downloadBehavior", Message: `downloadBehavior must be {"type": "play-in-browser"} or {"type": "download", "fileName": "name.mp4"}`}
	}
	*d = DownloadBehavior(p)
	return nil
}

// FrameRange is a single frame or an inclusive [first, last] range.
type FrameRange struct {
	First, Last int
	Single      bool
}

// MarshalJSON writes the range the way Remotion reads it: a number or a pair.
func (r FrameRange) MarshalJSON() ([]byte, error) {
	if r.Single {
		return json.Marshal(r.First)
	}
	return json.Marshal([2]int{r.First, r.Last})
}

// UnmarshalJSON reads a frame number or a [first, last] pair of frame numbers.
func (r *FrameRange) UnmarshalJSON(data []byte) error {
	var single int
	if err := json.Unmarshal(data, &single); err == nil {
		*r = FrameRange{First: single, Last: single, Single: true}
		return nil
	}
	var pair []int
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return &ValidationError{Field: "frameRange", Message: "frameRange must be a frame number or a [first, last] pair of frame numbers"}
	}
	*r = FrameRange{First: pair[0], Last: pair[1]}
	return nil
}

// ValidationError names the option that Remotion would reject and why.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodecOrDefault returns the codec the render uses.
func (o *Options) CodecOrDefault() string {
	if o.Codec == "" {
		return DefaultCodec
	}
	return o.Codec
}

// ImageFormatOrDefault returns the image format the render uses.
func (o *Options) ImageFormatOrDefault() string {
	if o.ImageFormat == "" {
		return DefaultImageFormat
	}
	return o.ImageFormat
}

// Validate applies the rules the render function applies, so that a render it
// would fail minutes later is refused before it starts. The first broken rule
// is returned as a *ValidationError.
func (o *Options) Validate() error {
	for _, check := range []func() *ValidationError{
		o.validateIdentity,
		o.validateFormat,
		o.validateQuality,
		o.validateAudio,
		o.validateFrames,
		o.validateDistribution,
		o.validateOutput,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) validateIdentity() *ValidationError {
	if strings.TrimSpace(o.Composition) == "" {
		return invalid("composition", "composition is required: the ID of the composition to render")
	}
	if len(o.Composition) > 256 || hasControl(o.Composition) {
		return invalid("composition", "composition must be a composition ID of at most 256 printable characters")
	}
	if trimmed := bytes.TrimSpace(o.InputProps); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		if trimmed[0] != '{' || !json.Valid(trimmed) {
			return invalid("inputProps", "inputProps must be a JSON object")
		}
	}
	for name, value := range o.EnvVariables {
		if name == "" || hasControl(name) || hasControl(value) {
			return invalid("envVariables", "envVariables must map non-empty names to strings without control characters")
		}
	}
	return nil
}

func (o *Options) validateFormat() *ValidationError {
	codec := o.CodecOrDefault()
	if !slices.Contains(Codecs, codec) {
		return invalid("codec", "codec %q is not supported on Lambda; use one of %s", codec, strings.Join(Codecs, ", "))
	}
	format := o.ImageFormatOrDefault()
	if !slices.Contains(imageFormats, format) {
		return invalid("imageFormat", "imageFormat %q is not valid; use one of %s", format, strings.Join(imageFormats, ", "))
	}
	if format == "none" && !IsAudioCodec(codec) {
		return invalid("imageFormat", `imageFormat "none" renders no frames; it only fits the audio codecs mp3, aac and wav, not %q`, codec)
	}
	if o.PixelFormat != nil {
		pf := *o.PixelFormat
		if !slices.Contains(pixelFormats, pf) {
			return invalid("pixelFormat", "pixelFormat %q is not valid; use one of %s", pf, strings.Join(pixelFormats, ", "))
		}
		if pf == "yuva420p" && codec != "vp8" && codec != "vp9" {
			return invalid("pixelFormat", `pixelFormat "yuva420p" (transparency) needs codec vp8 or vp9, not %q`, codec)
		}
		if pf == "yuva444p10le" && codec != "prores" {
			return invalid("pixelFormat", `pixelFormat "yuva444p10le" (transparency) needs codec prores, not %q`, codec)
		}
		if (pf == "yuva420p" || pf == "yuva444p10le") && format != "png" {
			return invalid("pixelFormat", `pixelFormat %q (transparency) needs imageFormat "png", not %q`, pf, format)
		}
	}
	if o.ProResProfile != nil {
		if codec != "prores" {
			return invalid("proResProfile", `proResProfile only applies to codec "prores", not %q`, codec)
		}
		if !slices.Contains(proResProfiles, *o.ProResProfile) {
			return invalid("proResProfile", "proResProfile %q is not valid; use one of %s", *o.ProResProfile, strings.Join(proResProfiles, ", "))
		}
	}
	if o.X264Preset != nil {
		if codec != "h264" {
			return invalid("x264Preset", `x264Preset only applies to codec "h264", not %q`, codec)
		}
		if !slices.Contains(x264Presets, *o.X264Preset) {
			return invalid("x264Preset", "x264Preset %q is not valid; use one of %s", *o.X264Preset, strings.Join(x264Presets, ", "))
		}
	}
	if o.ColorSpace != nil && !slices.Contains(colorSpaces, *o.ColorSpace) {
		return invalid("colorSpace", "colorSpace %q is not valid; use one of %s", *o.ColorSpace, strings.Join(colorSpaces, ", "))
	}
	if o.NumberOfGifLoops != nil {
		if codec != "gif" {
			return invalid("numberOfGifLoops", `numberOfGifLoops only applies to codec "gif", not %q`, codec)
		}
		if *o.NumberOfGifLoops < 0 {
			return invalid("numberOfGifLoops", "numberOfGifLoops must be 0 (loop forever) or more, not %d", *o.NumberOfGifLoops)
		}
	}
	return nil
}

func (o *Options) validateQuality() *ValidationError {
	codec := o.CodecOrDefault()
	if o.JPEGQuality != nil {
		if o.ImageFormatOrDefault() != "jpeg" {
			return invalid("jpegQuality", `jpegQuality only applies to imageFormat "jpeg", not %q`, o.ImageFormatOrDefault())
		}
		if q := *o.JPEGQuality; q < 0 || q > 100 {
			return invalid("jpegQuality", "jpegQuality must be between 0 and 100, not %d", q)
		}
	}
	if o.Crf != nil {
		crf := *o.Crf
		r, ok := crfRanges[codec]
		if !ok {
			return invalid("crf", "codec %q does not take a crf; remove it", codec)
		}
		if crf == 0 && codec == "h264" {
			return invalid("crf", "crf 0 with codec h264 makes videos that iOS and macOS cannot play; use 1 to 51")
		}
		if crf < r[0] || crf > r[1] {
			return invalid("crf", "crf must be between %d and %d for codec %s, not %d", r[0], r[1], codec, crf)
		}
		if o.VideoBitrate != nil {
			return invalid("crf", "crf and videoBitrate cannot both be set; choose one")
		}
	}
	for _, b := range []struct {
		field string
		value *string
	}{
		{"videoBitrate", o.VideoBitrate},
		{"audioBitrate", o.AudioBitrate},
		{"encodingMaxRate", o.EncodingMaxRate},
		{"encodingBufferSize", o.EncodingBufferSize},
	} {
		if b.value != nil && !bitratePattern.MatchString(*b.value) {
			return invalid(b.field, `%s must be a bitrate such as "512K", "5M" or "1000000", not %q`, b.field, *b.value)
		}
	}
	if o.EncodingMaxRate != nil && o.EncodingBufferSize == nil {
		return invalid("encodingMaxRate", "encodingMaxRate needs encodingBufferSize to be set too")
	}
	return nil
}

func (o *Options) validateAudio() *ValidationError {
	codec := o.CodecOrDefault()
	if o.AudioCodec != nil {
		ac := *o.AudioCodec
		if !slices.Contains(audioCodecs, ac) {
			return invalid("audioCodec", "audioCodec %q is not valid; use one of %s", ac, strings.Join(audioCodecs, ", "))
		}
		supported := supportedAudioCodecs[codec]
		if !slices.Contains(supported, ac) {
			if len(supported) == 0 {
				return invalid("audioCodec", "codec %q carries no audio; remove audioCodec", codec)
			}
			return invalid("audioCodec", "codec %q cannot carry audioCodec %q; use one of %s", codec, ac, strings.Join(supported, ", "))
		}
	}
	if o.Muted != nil && *o.Muted && IsAudioCodec(codec) {
		return invalid("muted", "muted cannot be true with the audio-only codec %q", codec)
	}
	return nil
}

func (o *Options) validateFrames() *ValidationError {
	if r := o.FrameRange; r != nil {
		if r.First < 0 || r.Last < 0 {
			return invalid("frameRange", "frameRange cannot contain negative frame numbers")
		}
		if r.Last < r.First {
			return invalid("frameRange", "frameRange [%d, %d] ends before it starts", r.First, r.Last)
		}
	}
	if o.EveryNthFrame != nil && *o.EveryNthFrame < 1 {
		return invalid("everyNthFrame", "everyNthFrame must be 1 or more, not %d", *o.EveryNthFrame)
	}
	if o.Scale != nil {
		s := *o.Scale
		if math.IsNaN(s) || s <= 0 || s > MaxScale {
			return invalid("scale", "scale must be greater than 0 and at most %g, not %g", MaxScale, s)
		}
	}
	return nil
}

func (o *Options) validateDistribution() *ValidationError {
	if o.FramesPerLambda != nil && o.Concurrency != nil {
		return invalid("framesPerLambda", "framesPerLambda and concurrency cannot both be set; use only one of them")
	}
	if o.FramesPerLambda != nil && *o.FramesPerLambda < MinFramesPerLambda {
		return invalid("framesPerLambda", "framesPerLambda must be at least %d, not %d", MinFramesPerLambda, *o.FramesPerLambda)
	}
	if o.Concurrency != nil {
		if c := *o.Concurrency; c < 1 || c > MaxConcurrency {
			return invalid("concurrency", "concurrency must be between 1 and %d, not %d", MaxConcurrency, c)
		}
	}
	if o.MaxRetries != nil && *o.MaxRetries < 0 {
		return invalid("maxRetries", "maxRetries must be 0 or more, not %d", *o.MaxRetries)
	}
	if o.TimeoutInMilliseconds != nil {
		if t := *o.TimeoutInMilliseconds; t < MinTimeoutMilliseconds || t > MaxTimeoutMilliseconds {
			return invalid("timeoutInMilliseconds", "timeoutInMilliseconds must be between %d and %d, not %d", MinTimeoutMilliseconds, MaxTimeoutMilliseconds, t)
		}
	}
	return nil
}

func (o *Options) validateOutput() *ValidationError {
	if o.Privacy != "" && !slices.Contains(privacies, o.Privacy) {
		return invalid("privacy", "privacy %q is not valid; use one of %s, %s or %s", o.Privacy, PrivacyPublic, PrivacyPrivate, PrivacyNoACL)
	}
	if d := o.DownloadBehavior; d != nil {
		switch d.Type {
		case "play-in-browser":
			if d.FileName != nil {
				return invalid("downloadBehavior", `downloadBehavior.fileName only applies to type "download"`)
			}
		case "download":
			if f := d.FileName; f != nil && (*f == "" || len(*f) > maxDownloadFileNameSize || hasControl(*f) || strings.ContainsAny(*f, `"/\`)) {
				return invalid("downloadBehavior", `downloadBehavior.fileName must be 1 to %d characters without quotes, slashes or control characters`, maxDownloadFileNameSize)
			}
		default:
			return invalid("downloadBehavior", `downloadBehavior.type must be "play-in-browser" or "download", not %q`, d.Type)
		}
	}
	if len(o.Metadata) > maxMetadataEntries {
		return invalid("metadata", "metadata can hold at most %d entries", maxMetadataEntries)
	}
	for k, v := range o.Metadata {
		if k == "" || hasControl(k) || hasControl(v) {
			return invalid("metadata", "metadata must map non-empty keys to strings without control characters")
		}
	}
	if o.DeleteAfter != nil && !slices.Contains(deleteAfters, *o.DeleteAfter) {
		return invalid("deleteAfter", "deleteAfter %q is not valid; use one of %s", *o.DeleteAfter, strings.Join(deleteAfters, ", "))
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
