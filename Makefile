# Everyday commands. Each target is a thin wrapper: the README shows the raw
# command beside it. Pass context with CONTEXT, e.g.
#   make deploy CONTEXT="-c serveUrl=https://... -c outputBucket=create"

CDK_CLI_VERSION := 2.1148.1
CDK := npx --yes aws-cdk@$(CDK_CLI_VERSION)
CONTEXT ?=

export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: synth test diff deploy destroy fmt lint bench fuzz render

synth:
	$(CDK) synth --no-notices $(CONTEXT)

test:
	go test -count=1 ./...

diff:
	$(CDK) diff --no-notices $(CONTEXT)

deploy:
	$(CDK) deploy --no-notices $(CONTEXT)

destroy:
	$(CDK) destroy --no-notices $(CONTEXT)

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	go vet ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	go test -count=1 -run 'Workflow|Actionlint|Tracked|Ignored|Link' .
	go test -count=1 -run 'AwsSolutions|Strict|CfnLint|DependsOn' ./stacks
	@# The tests lint every configuration's template; this lints the last
	@# `make synth`'s, with its CONTEXT, when there is one.
	@if ls cdk.out/*.template.json >/dev/null 2>&1; then \
	  echo cfn-lint --config-file .cfnlintrc.yaml -- cdk.out/*.template.json; \
	  cfn-lint --config-file .cfnlintrc.yaml -- cdk.out/*.template.json; \
	else echo "no cdk.out: make synth first to lint its template with cfn-lint too"; fi

bench:
	go test -run '^$$' -bench . -benchmem ./lambda/...

fuzz:
	go test ./lambda/api -run '^$$' -fuzz FuzzDecodeStart -fuzztime 3m

render:
	go build -o render ./cmd/render
