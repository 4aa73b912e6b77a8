#pragma once

#include <QWidget>

class QAbstractItemModel;
class QLabel;
class QSortFilterProxyModel;
class QTableView;

namespace switchboard {

// One titled table of the monitor: a view sorted and filtered through a QSortFilterProxyModel
// that sorts by the model's Qt::UserRole (numbers as numbers, not "10" before "9") and filters
// on the displayed text of every column. The view is named `objectName + "Table"`.
class TablePane : public QWidget {
    Q_OBJECT
public:
    TablePane(const QString& objectName, QAbstractItemModel* model, QWidget* parent = nullptr);

    QTableView* view() const { return m_view; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }

    void setTitle(const QString& title);
    QString title() const;
    void setFilterText(const QString& text);

    // The header's column order, widths and sort, for QSettings. Until one is restored or the
    // operator drags a column, columns widen to fit new rows (never narrow, so nothing jumps).
    QByteArray headerState() const;
    bool restoreHeaderState(const QByteArray& state);
    void setDefaultSort(int column, Qt::SortOrder order);
    // Not the operator's doing: columns keep fitting their content afterwards.
    void setColumnHidden(int column, bool hidden);

private:
    void fitColumns();
    int contentWidth(int column) const;
    void onSectionResized(int logicalIndex);

    QLabel* m_title;
    QTableView* m_view;
    QSortFilterProxyModel* m_proxy;
    bool m_sizedByOperator = false;
    bool m_fitting = false;
};

} // namespace switchboard
