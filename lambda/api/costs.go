package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/contract/renderapi"
)

// maxCostDays bounds the days one answer covers.
const maxCostDays = 366

// costs answers GET /renders/costs: the caller's cost per day.
func (h *Handler) costs(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.costsBy(ctx, req, callerOf(req))
}

// costsAll answers GET /renders/all/costs: every caller's, for operators.
func (h *Handler) costsAll(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	return h.costsBy(ctx, req, "")
}

func (h *Handler) costsBy(ctx context.Context, req *events.APIGatewayV2HTTPRequest, caller string) (events.APIGatewayV2HTTPResponse, string, *apiError) {
	from, to, aerr := costPeriod(req.QueryStringParameters, time.Now().UTC())
	if aerr != nil {
		return events.APIGatewayV2HTTPResponse{}, "", aerr
	}
	days, err := h.renders.Costs(ctx, caller, from, to)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", failure(err)
	}
	out := renderapi.CostsByDay{From: from, To: to, Days: make([]renderapi.DayCost, 0, len(days)), Currency: "USD", Disclaimer: renderapi.CostDisclaimer}
	total := new(big.Rat)
	for _, d := range days {
		spent, _ := new(big.Rat).SetString(string(d.Spent))
		if spent == nil {
			spent = new(big.Rat)
		}
		total.Add(total, spent)
		day := renderapi.DayCost{Date: d.Period, Spent: amount(string(d.Spent)), Pending: amount(string(d.Committed)), Renders: d.Renders, Currency: "USD"}
		if d.Currency != "" {
			day.Currency, out.Currency = d.Currency, d.Currency
		}
		if caller == "" {
			day.Caller = d.Caller
		}
		out.Days = append(out.Days, day)
	}
	out.Total = amount(total.FloatString(12))
	return jsonResponse(http.StatusOK, out), "", nil
}

// amount is an exact decimal as JSON, without trailing zeros.
func amount(decimal string) json.Number {
	if decimal == "" {
		return "0"
	}
	if strings.Contains(decimal, ".") {
		decimal = strings.TrimRight(strings.TrimRight(decimal, "0"), ".")
	}
	return json.Number(decimal)
}

// costPeriod reads ?from= and ?to=, UTC dates: the last 30 days to today
// by default.
func costPeriod(q map[string]string, now time.Time) (from, to string, aerr *apiError) {
	toDay := now.Truncate(24 * time.Hour)
	if v := q["to"]; v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "to", Message: "to must be a date such as 2026-12-01 (UTC)"}
		}
		toDay = t
	}
	fromDay := toDay.AddDate(0, 0, -29)
	if v := q["from"]; v != "" {
		f, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "from", Message: "from must be a date such as 2026-11-01 (UTC)"}
		}
		fromDay = f
	}
	switch {
	case fromDay.After(toDay):
		return "", "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "from", Message: "from must not be after to"}
	case toDay.Sub(fromDay) >= maxCostDays*24*time.Hour:
		return "", "", &apiError{Status: http.StatusBadRequest, Code: renderapi.CodeInvalidValue, Field: "from",
			Message: fmt.Sprintf("from and to may be at most %d days apart", maxCostDays)}
	}
	return fromDay.Format(time.DateOnly), toDay.Format(time.DateOnly), nil
}
