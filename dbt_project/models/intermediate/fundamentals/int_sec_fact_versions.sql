{#-
    Every version of every mapped figure, with the dates it was the latest
    word: a version filed on F is valid from F until the next filing that
    reported the same period (valid_to, exclusive; NULL = still current).
    Point-in-time queries take the version valid on their date, so a later
    restatement never rewrites what was known before it.

    Split basis: per-share values are divided, and share counts multiplied,
    by split_factor = (product of split ratios known up to the price split
    basis date, int_sec_price_basis) / (product known up to the filing date),
    so they divide prices of the same basis; a filing newer than the prices'
    basis is brought back (NVIDIA's 2024 figures divided by 10 x 4 against
    prices of 2018).
    Example: Apple's Q2 FY2013 diluted EPS filed 2013-04-24 as 10.09 becomes
    10.09 / 7 = 1.44 against the bundled prices (basis 2018-02-07), which
    already include the 7-for-1 split of June 2014.
-#}
with

facts as (

    select * from {{ ref('int_sec_metric_facts') }}

),

splits as (

    select * from {{ ref('int_sec_split_events') }}

),

basis as (

    select * from {{ ref('int_sec_price_basis') }}

),

facts_with_basis as (

    select
        facts.*,
        coalesce(basis.price_split_basis_date, cast('9999-12-31' as date)) as basis_date

    from facts
    left join basis on facts.cik = basis.cik

),

split_factors as (

    -- factor = cumulative split ratio up to the price basis / cumulative split ratio up to
    -- the filing: splits after the filing and up to the basis multiply; splits after the
    -- basis and up to the filing (a filing newer than the prices' basis) divide
    select
        f.cik,
        f.metric,
        f.period_start,
        f.period_end,
        f.filed_date,
        exp(sum(
            case
                when s.effective_from > f.filed_date and s.effective_from <= f.basis_date
                then ln(s.split_ratio)
                when s.effective_from <= f.filed_date and s.effective_from > f.basis_date
                then -ln(s.split_ratio)
                else 0
            end
        )) as split_factor

    from facts_with_basis as f
    inner join splits as s on f.cik = s.cik
    where f.value_kind in ('per_share', 'shares')
    group by f.cik, f.metric, f.period_start, f.period_end, f.filed_date

),

versioned as (

    select
        facts.*,
        coalesce(split_factors.split_factor, 1.0) as split_factor,
        lead(facts.filed_date) over (
            partition by facts.cik, facts.metric, facts.period_start, facts.period_end
            order by facts.filed_date
        ) as valid_to

    from facts
    left join split_factors
        on facts.cik = split_factors.cik
        and facts.metric = split_factors.metric
        and facts.period_end = split_factors.period_end
        and facts.filed_date = split_factors.filed_date
        and (facts.period_start = split_factors.period_start
             or (facts.period_start is null and split_factors.period_start is null))

),

final as (

    select
        cik,
        metric,
        value_kind,
        period_type,
        period_start,
        period_end,
        duration_days,
        filed_date as valid_from,
        valid_to,
        form,
        accession_number,
        taxonomy,
        concept,
        unit,
        value as value_as_filed,
        split_factor,
        cast(case
            when value_kind = 'per_share' then value / split_factor
            when value_kind = 'shares' then value * split_factor
            else value
        end as {{ type_double() }}) as value

    from versioned

)

select * from final
