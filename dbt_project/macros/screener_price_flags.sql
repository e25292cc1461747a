{#-
    The screener's price flags of one bar, one definition for mart_screener_latest (the
    latest bar) and mart_screener_history (every bar, point in time).

    bars: alias of the bar's relation (fct_daily_indicators columns); prior_high: the
    highest adjusted high of the 251 bars before it; golden_cross: true when SMA 50
    crossed above SMA 200 on any of the last 20 bars, this one included. Emits, in
    order: above_sma_50, above_sma_200, golden_cross_20d, pct_from_high_52w (fraction),
    new_high_52w, rsi_overbought (RSI > 70), rsi_oversold (RSI < 30 on a bar with price
    movement). Flags are NULL while an input is in warm-up.
-#}
{% macro screener_price_flags(bars, prior_high, golden_cross) -%}
        {{ bars }}.adjusted_close > {{ bars }}.sma_50 as above_sma_50,
        {{ bars }}.adjusted_close > {{ bars }}.sma_200 as above_sma_200,
        {{ golden_cross }} as golden_cross_20d,
        {{ bars }}.adjusted_close / {{ bars }}.high_52w - 1 as pct_from_high_52w,
        case
            when {{ bars }}.high_52w is not null then {{ bars }}.adjusted_high > {{ prior_high }}
        end as new_high_52w,
        {{ bars }}.rsi_14 > 70 as rsi_overbought,
        {{ bars }}.rsi_14 < 30 and {{ bars }}.rsi_14_no_movement is not true as rsi_oversold
{%- endmacro %}
